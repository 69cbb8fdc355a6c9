"""The UI layer: the only place that imports Rich."""
