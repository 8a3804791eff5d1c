"""The demo shop that hosts the chat widget."""
