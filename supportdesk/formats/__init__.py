"""Date and number formats per language where Django's own do not fit our tenants.

Every tenant is a European support provider (Stockholm, Brussels), so English pages use
day-month order and the 24-hour clock, as en-GB writes them, not Django's US ``en`` formats
("Dec. 2, 2026, 2:30 p.m."). Swedish and Dutch keep Django's formats.
"""
