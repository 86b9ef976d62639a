"""Thẻ căn cước: intake, approval, production, delivery and the life of each card."""
