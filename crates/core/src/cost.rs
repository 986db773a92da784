//! The cost model: what a request cost in money and energy, so the ledger can say what a
//! *successful* summary costs by route. Pure arithmetic over plain data, configured in
//! `[cost]`.
//!
//! - Cloud: tokens × the configured price per million input / output tokens.
//! - Energy: on battery, the battery's own discharge rate (what the laptop really drew while
//!   it worked); on AC, or where the battery reports no rate, the configured device watts.
//!   Watts × the seconds the request spent generating → Wh, × the price per kWh → money.
//!
//! Cost per successful summary (in `ledger::report`) divides everything spent — failed and
//! rejected requests included — by the summaries that succeeded: cheap routes that fail often
//! are not cheap.

use serde::{Deserialize, Serialize};

/// `[cost]` in `config.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostSettings {
    /// Cloud price per million input (prompt) tokens.
    pub cloud_input_per_mtok: f64,
    /// Cloud price per million output (completion) tokens.
    pub cloud_output_per_mtok: f64,
    /// What the laptop draws while summarizing, in watts, when the battery cannot tell.
    pub device_watts: f64,
    /// Electricity price per kWh.
    pub energy_per_kwh: f64,
    /// The currency of the prices above (shown, never converted).
    pub currency: String,
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            cloud_input_per_mtok: 0.15,
            cloud_output_per_mtok: 0.60,
            device_watts: 25.0,
            energy_per_kwh: 0.30,
            currency: "EUR".into(),
        }
    }
}

impl CostSettings {
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("cloud_input_per_mtok", self.cloud_input_per_mtok),
            ("cloud_output_per_mtok", self.cloud_output_per_mtok),
            ("device_watts", self.device_watts),
            ("energy_per_kwh", self.energy_per_kwh),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("[cost] {name} = {v}: must be a number ≥ 0"));
            }
        }
        Ok(())
    }
}

/// What one request used.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    pub cloud_input_tokens: usize,
    pub cloud_output_tokens: usize,
    /// Seconds this laptop spent working on it (generation: local model, extractive, or
    /// waiting on the cloud, which costs little but not nothing).
    pub busy_secs: f64,
    /// On battery, the battery's discharge rate in watts, when it reports one.
    pub battery_watts: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// Money: cloud tokens plus energy.
    pub money: f64,
    pub cloud_money: f64,
    pub energy_wh: f64,
}

pub fn cost(usage: &Usage, s: &CostSettings) -> Cost {
    let cloud_money = usage.cloud_input_tokens as f64 / 1e6 * s.cloud_input_per_mtok
        + usage.cloud_output_tokens as f64 / 1e6 * s.cloud_output_per_mtok;
    let watts = usage.battery_watts.filter(|w| w.is_finite() && *w > 0.0).unwrap_or(s.device_watts);
    let energy_wh = watts * usage.busy_secs.max(0.0) / 3600.0;
    Cost { money: cloud_money + energy_wh / 1000.0 * s.energy_per_kwh, cloud_money, energy_wh }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn cloud_tokens_and_energy_are_priced() {
        let s = CostSettings {
            cloud_input_per_mtok: 2.0,
            cloud_output_per_mtok: 8.0,
            device_watts: 36.0,
            energy_per_kwh: 0.5,
            currency: "EUR".into(),
        };
        // 1,000 in + 250 out: 0.002 + 0.002; 36 W for 10 s = 0.1 Wh = 0.00005.
        let c = cost(
            &Usage {
                cloud_input_tokens: 1000,
                cloud_output_tokens: 250,
                busy_secs: 10.0,
                battery_watts: None,
            },
            &s,
        );
        assert!(close(c.cloud_money, 0.004), "{c:?}");
        assert!(close(c.energy_wh, 0.1), "{c:?}");
        assert!(close(c.money, 0.004 + 0.00005), "{c:?}");
    }

    #[test]
    fn on_battery_the_measured_rate_replaces_the_configured_watts() {
        let s = CostSettings { device_watts: 36.0, ..CostSettings::default() };
        let measured =
            cost(&Usage { busy_secs: 3600.0, battery_watts: Some(12.0), ..Usage::default() }, &s);
        assert!(close(measured.energy_wh, 12.0));
        for nonsense in [Some(0.0), Some(f64::NAN), Some(-3.0), None] {
            let c =
                cost(&Usage { busy_secs: 3600.0, battery_watts: nonsense, ..Usage::default() }, &s);
            assert!(close(c.energy_wh, 36.0), "{nonsense:?}");
        }
    }

    #[test]
    fn negative_prices_are_refused() {
        assert!(CostSettings { device_watts: -1.0, ..CostSettings::default() }.validate().is_err());
        assert!(CostSettings::default().validate().is_ok());
    }
}
