"""Deals: accounts a rep is working, the meeting notes logged against them (analysed extractively on save), the
organisation's sales process per segment, and the next step each deal should take."""
