"""BITV 2.0 built in: the pages, fields and checks the accessibility law asks for."""
