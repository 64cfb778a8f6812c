"""One readable decoder whose architectures are flags; Hugging Face and GGUF import/export."""
