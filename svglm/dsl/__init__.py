"""The compiler-facing language: atoms, bundle and scene levels, lowering, the SVG compiler."""
