"""The kiosk app (社区事务一体机): PySide6 screens, the plain-Python flows behind them,
face verification, i18n and admin mode. The only package that imports Qt; it never
opens a serial port itself and asks the locker daemon for doors."""
