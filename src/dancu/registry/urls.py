from django.urls import path

from dancu.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search_view, name="search"),
    path("citizens/new/", views.citizen_new_view, name="citizen_new"),
    path("citizens/<id:pk>/", views.citizen_view, name="citizen"),
    path("citizens/<id:pk>/history/", views.citizen_history_view, name="citizen_history"),
    path("citizens/<id:pk>/residences/new/", views.residence_new_view, name="residence_new"),
    path("citizens/<id:pk>/residences/<id:rid>/end/", views.residence_end_view, name="residence_end"),
    path("citizens/<id:pk>/residences/<id:rid>/renew/", views.residence_renew_view, name="residence_renew"),
    path("citizens/<id:pk>/absences/new/", views.absence_new_view, name="absence_new"),
    path("citizens/<id:pk>/absences/<id:aid>/return/", views.absence_return_view, name="absence_return"),
    path("citizens/<id:pk>/absences/<id:aid>/edit/", views.absence_edit_view, name="absence_edit"),
    path(
        "citizens/<id:pk>/absences/<id:aid>/withdraw/", views.absence_withdraw_view, name="absence_withdraw"
    ),
    path("arrivals/new/", views.arrival_new_view, name="arrival_new"),
    path("stays/", views.stays_view, name="stays"),
    path("stays/new/", views.stay_new_view, name="stay_new"),
    path("stays/export.<slug:file_format>", views.stays_export_view, name="stays_export"),
    path("stays/<id:rid>/", views.stay_view, name="stay"),
    path("citizens/<id:pk>/household/new/", views.household_new_view, name="household_new"),
    path("households/<id:pk>/", views.household_view, name="household"),
    path("households/<id:pk>/members/new/", views.household_member_new_view, name="member_new"),
    path("households/<id:pk>/head/", views.household_head_view, name="household_head"),
    path("households/<id:pk>/split/", views.household_split_view, name="household_split"),
]
