"""The flows behind the kiosk's screens: plain Python, no Qt. A screen shows a flow's
state and forwards taps; the flow does the work (issuing and printing certificates,
subsidy checks, drop-offs) and is tested without a display. Flows block: the UI runs
them off its thread through its task helper."""
