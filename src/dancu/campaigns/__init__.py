"""Campaigns: targets, progress from the records themselves, rankings and reports for leaders."""
