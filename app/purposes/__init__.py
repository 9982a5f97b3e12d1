"""One module per token purpose: what its token (and code) carries, made and read side by side.

Adding a purpose means adding a module here: its payload's named fields, the function that
makes it when a mail is composed, and the one that reads it back.
"""
