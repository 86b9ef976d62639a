"""Formats of our own over Django's for each language (FORMAT_MODULE_PATH).

A day typed in a form is read the Vietnamese way whatever the page's language: a date input that a
browser shows as a text box (an old phone, a station's kiosk) takes what the officer types, and Django's
English formats read "05/06/2025" month first, as 6 May, with no error. Only the formats of reading are
set here; how dates are shown stays Django's (the templates give their own format).
"""
