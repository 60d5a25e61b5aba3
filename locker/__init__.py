"""The cloud locker (云柜): compartments, allocation, the door and case state machine
at the locker, pickup and worker codes, and the locker daemon, sole owner of the
lock boards and the locker's scanner, with its local API. Never imports Qt."""
