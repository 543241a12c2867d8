"""Semi-supervised (library-based) unmixing methods."""
