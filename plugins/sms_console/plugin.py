"""sms_console: writes text messages to the log (phone masked) and to a table staff can read (stub)."""
from core.toolkit import PluginMeta

meta = PluginMeta(name="sms_console", label="短信（控制台）", version="0.1.0", kind="integration")
