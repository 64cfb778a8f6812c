"""The compiler-facing language: atoms, the bundle and scene levels, lowering and the SVG compiler."""
