//! The power manager's part of the handle: the monitor (started on first use: reading sensors
//! costs a little, and the CLI's history commands need none) and the mode last remembered in
//! the database, so that hysteresis survives a restart.

use crate::{Error, Fieldbrief, Result};
use fieldbrief_core::config::PowerSettings;
use fieldbrief_core::power::Mode;
use fieldbrief_device::{PowerMonitor, PowerState};
use fieldbrief_store::Store;
use std::time::Duration;

#[derive(Default)]
pub(crate) struct PowerSlot {
    /// The monitor, and the mode last written to the database.
    started: Option<(PowerMonitor, Option<Mode>)>,
}

impl PowerSlot {
    /// The power state now (the trace in `FIELDBRIEF_POWER_TRACE`, else the sensors).
    pub(crate) fn state(&mut self, settings: &PowerSettings, store: &Store) -> Result<PowerState> {
        let (monitor, remembered) = match &mut self.started {
            Some(p) => p,
            None => {
                let previous = store.setting("power_mode")?.as_deref().and_then(Mode::parse);
                let poll = Duration::from_secs(settings.poll_secs);
                let monitor = PowerMonitor::from_env(settings.mode, poll, previous)
                    .map_err(|e| Error::Power(e.to_string()))?;
                self.started.insert((monitor, previous))
            }
        };
        let state = monitor.state();
        // Written only when the mode changes (the app asks for the status every few seconds).
        if *remembered != Some(state.mode) {
            store.set_setting("power_mode", state.mode.as_str())?;
            *remembered = Some(state.mode);
        }
        Ok(state)
    }

    /// The mode now, from a monitor already started (a long download polls it without the
    /// database); `None` when none is.
    pub(crate) fn mode_now(&mut self) -> Option<Mode> {
        self.started.as_mut().map(|(m, _)| m.state().mode)
    }

    pub(crate) fn is_started(&self) -> bool {
        self.started.is_some()
    }

    /// Forgets the monitor: new settings (an override) start a new one.
    pub(crate) fn reset(&mut self) {
        self.started = None;
    }
}

impl Fieldbrief {
    /// The power state now (the trace in `FIELDBRIEF_POWER_TRACE`, else the sensors). The mode
    /// is remembered in the database so hysteresis survives a restart.
    pub fn power_state(&mut self) -> Result<PowerState> {
        self.power.state(&self.settings.power, &self.store)
    }
}
