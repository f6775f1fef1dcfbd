"""The lane display: a page on the gate's loopback for the kiosk screen beside the lane, fed live
from the announcer's cues (docs/lane.md "Lane display")."""
