"""What every process of an appliance shares: its configuration file and logging
with personal data masked. The kiosk UI, the locker daemon, the sync agent and the
driver CLIs all load the same TOML file through :mod:`appliance.config`."""
