"""Jinja2 templates (`*.j2`), one per message kind. Templates only: the rendering lives in agent/."""
