terraform import glsync_system_hook.glsync 7
