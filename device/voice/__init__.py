"""The lane's voice: clip files, their offline rendering, the ALSA player, a simulated speaker
and the announcer's listener that picks the prompt's language and volume (docs/lane.md)."""
