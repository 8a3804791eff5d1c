"""Code that runs inside or beside the Rasa server: NLU components, channels, console."""
