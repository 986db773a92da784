//! The cloud API key: `FIELDBRIEF_CLOUD_API_KEY` for headless use, else the OS keychain
//! (macOS Keychain, Windows Credential Manager, the Secret Service on Linux). Never written to
//! SQLite, the config file, logs or the ledger: [`ApiKey`]'s `Debug` prints no secret.

use serde::Serialize;

pub const KEY_ENV: &str = "FIELDBRIEF_CLOUD_API_KEY";
const SERVICE: &str = "app.fieldbrief.desktop";
const ACCOUNT: &str = "cloud-api-key";

#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: &str) -> ApiKey {
        ApiKey(key.trim().to_string())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Environment,
    Keychain,
    /// No key anywhere: requests go without `Authorization` (a self-hosted endpoint may not
    /// need one).
    None,
}

#[derive(Debug, thiserror::Error)]
#[error("the OS keychain: {0}")]
pub struct KeyError(String);

/// The key and where it came from. A keychain that cannot be opened (no Secret Service on a
/// headless Linux) counts as no key, with a warning in the log.
pub fn find_api_key() -> (Option<ApiKey>, KeySource) {
    if let Some(k) = std::env::var(KEY_ENV).ok().filter(|k| !k.trim().is_empty()) {
        return (Some(ApiKey::new(&k)), KeySource::Environment);
    }
    match keyring::Entry::new(SERVICE, ACCOUNT).and_then(|e| e.get_password()) {
        Ok(k) if !k.trim().is_empty() => (Some(ApiKey::new(&k)), KeySource::Keychain),
        Ok(_) | Err(keyring::Error::NoEntry) => (None, KeySource::None),
        Err(e) => {
            tracing::warn!(error = %e, "the OS keychain could not be read");
            (None, KeySource::None)
        }
    }
}

pub fn store_api_key(key: &str) -> Result<(), KeyError> {
    if key.trim().is_empty() {
        return Err(KeyError("an empty key cannot be stored".into()));
    }
    keyring::Entry::new(SERVICE, ACCOUNT)
        .and_then(|e| e.set_password(key.trim()))
        .map_err(|e| KeyError(e.to_string()))
}

pub fn delete_api_key() -> Result<(), KeyError> {
    match keyring::Entry::new(SERVICE, ACCOUNT).and_then(|e| e.delete_credential()) {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(KeyError(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_key() {
        let k = ApiKey::new("  sk-secret-123 ");
        assert_eq!(k.expose(), "sk-secret-123");
        assert!(!format!("{k:?}").contains("secret"));
    }
}
