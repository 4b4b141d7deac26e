"""The core's version: plugins declare the range they work with in ``PluginMeta.requires_core``."""
CORE_VERSION = "0.1.0"
