"""Blind unmixing: endmembers and abundances both estimated (geometric, statistical and network methods)."""
