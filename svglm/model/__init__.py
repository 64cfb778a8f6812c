"""One readable decoder with family presets."""
