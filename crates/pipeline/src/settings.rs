//! The settings a person changes from the app: cloud opt-in, endpoint and model, redaction
//! patterns, "work offline", the power-mode override and the routing preference.
//!
//! They are written into the same `config.toml` the CLI reads, with `toml_edit`, so a file an
//! administrator edited by hand keeps its comments, its order and every key the app does not
//! show. A change is validated as a whole file (the same `Settings::parse` every start runs)
//! before anything is written, then written with [`crate::write_atomically`]: a full disk or a
//! crash leaves the old settings, never half of the new ones.
//!
//! The API key is not a setting: it goes to the OS keychain and never into this file.

use crate::{Error, Fieldbrief, Result};
use fieldbrief_cloud::KeySource;
use fieldbrief_core::config::Settings;
use fieldbrief_core::power::Override;
use fieldbrief_core::route::Preference;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the app's Settings view shows and edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsForm {
    pub cloud_enabled: bool,
    pub endpoint: Option<String>,
    pub model: Option<String>,
    pub work_offline: bool,
    /// The organisation's redaction patterns, name → regular expression.
    pub redact: BTreeMap<String, String>,
    pub power_mode: Override,
    pub prefer: Preference,
    /// The connection is metered: models are never downloaded on their own.
    #[serde(default)]
    pub metered: bool,
    /// A desktop notification when a summary or refinement finishes behind other windows.
    #[serde(default = "yes")]
    pub notifications: bool,
}

fn yes() -> bool {
    true
}

/// The form, and what the view shows beside it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub form: SettingsForm,
    /// Where the cloud's API key comes from (never the key itself).
    pub key_source: KeySource,
    pub config_path: std::path::PathBuf,
}

impl SettingsForm {
    pub fn from_settings(s: &Settings) -> SettingsForm {
        SettingsForm {
            cloud_enabled: s.cloud.enabled,
            endpoint: s.cloud.endpoint.clone(),
            model: s.cloud.model.clone(),
            work_offline: s.cloud.work_offline,
            redact: s.cloud.redact.clone(),
            power_mode: s.power.mode,
            prefer: s.routing.prefer,
            metered: s.models.metered,
            notifications: s.ui.notifications,
        }
    }

    /// Blank fields mean "not set"; names and patterns lose surrounding spaces. Two patterns
    /// whose names are the same once trimmed are refused: one would silently replace the other
    /// and its identifiers would leave the laptop unredacted.
    fn tidy(&self) -> std::result::Result<SettingsForm, String> {
        let blank = |v: &Option<String>| {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
        };
        let mut redact = BTreeMap::new();
        for (k, v) in &self.redact {
            if redact.insert(k.trim().to_string(), v.trim().to_string()).is_some() {
                return Err(format!(
                    "two redaction patterns are named {:?}: give each its own name",
                    k.trim()
                ));
            }
        }
        Ok(SettingsForm {
            endpoint: blank(&self.endpoint),
            model: blank(&self.model),
            redact,
            ..self.clone()
        })
    }

    /// Checks what the file's own validation cannot know: that an opted-in cloud has
    /// somewhere to go, and that pattern names are plain words.
    fn check(&self) -> std::result::Result<(), String> {
        if self.cloud_enabled && (self.endpoint.is_none() || self.model.is_none()) {
            return Err(
                "cloud escalation needs an endpoint and a model name before it can be turned on"
                    .into(),
            );
        }
        for (name, pattern) in &self.redact {
            if name.is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!(
                    "redaction pattern name {name:?}: use letters, digits, '_' or '-' (e.g. site_id)"
                ));
            }
            if pattern.is_empty() {
                return Err(format!("redaction pattern {name:?} is empty"));
            }
        }
        Ok(())
    }
}

/// `text` (the current file, possibly empty) with the form's values set and everything else
/// kept as it was.
pub fn edit_config(text: &str, form: &SettingsForm) -> std::result::Result<String, String> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        format!(
            "the settings file cannot be edited: {}",
            e.to_string().lines().next().unwrap_or("not TOML")
        )
    })?;
    fn table<'a>(
        doc: &'a mut DocumentMut,
        name: &str,
    ) -> std::result::Result<&'a mut Table, String> {
        let item = doc.entry(name).or_insert_with(toml_edit::table);
        item.as_table_mut().ok_or_else(|| format!("the settings file's {name:?} is not a table"))
    }
    let cloud = table(&mut doc, "cloud")?;
    cloud["enabled"] = value(form.cloud_enabled);
    for (key, v) in [("endpoint", &form.endpoint), ("model", &form.model)] {
        match v {
            Some(v) => cloud[key] = value(v.as_str()),
            None => {
                cloud.remove(key);
            }
        }
    }
    cloud["work_offline"] = value(form.work_offline);
    if form.redact.is_empty() {
        cloud.remove("redact");
    } else {
        let mut redact = Table::new();
        for (name, pattern) in &form.redact {
            redact[name.as_str()] = value(pattern.as_str());
        }
        cloud["redact"] = Item::Table(redact);
    }
    table(&mut doc, "power")?["mode"] = value(enum_str(&form.power_mode));
    table(&mut doc, "routing")?["prefer"] = value(enum_str(&form.prefer));
    table(&mut doc, "models")?["metered"] = value(form.metered);
    table(&mut doc, "ui")?["notifications"] = value(form.notifications);
    Ok(doc.to_string())
}

/// A settings enum as the string the file holds (its serde name).
fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl Fieldbrief {
    /// The app's Settings view: the form and where the API key comes from.
    pub fn settings_view(&self) -> SettingsView {
        SettingsView {
            form: SettingsForm::from_settings(&self.settings),
            key_source: self.known_key_source(),
            config_path: self.home.config_path(),
        }
    }

    /// Validates `form` against the whole settings file, writes it atomically and applies it to
    /// this handle. Nothing is written when anything is wrong.
    pub fn save_settings(&mut self, form: &SettingsForm) -> Result<()> {
        let form = form.tidy().map_err(Error::BadArgument)?;
        form.check().map_err(Error::BadArgument)?;
        let path = self.home.config_path();
        let current = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::Home(format!("reading {}: {e}", path.display()))),
        };
        let text = edit_config(&current, &form).map_err(Error::BadArgument)?;
        let settings = Settings::parse(&text).map_err(Error::BadArgument)?;
        crate::write_atomically(&path, text.as_bytes())
            .map_err(|e| Error::Home(format!("saving {}: {e}", path.display())))?;
        self.apply_settings(settings);
        Ok(())
    }

    /// Reads `config.toml` again (another handle or a person may have changed it). Returns
    /// whether anything changed.
    pub fn reload_settings(&mut self) -> Result<bool> {
        let settings = Settings::load(&self.home.config_path())?;
        if settings == self.settings {
            return Ok(false);
        }
        self.apply_settings(settings);
        Ok(true)
    }

    /// Takes new settings, dropping what was built from the old ones: the cloud client (a new
    /// endpoint, or cloud switched off, must not reuse a connection or an "online" verdict),
    /// the power monitor (a new override), and the local engine (new engine settings).
    fn apply_settings(&mut self, settings: Settings) {
        if settings.cloud != self.settings.cloud {
            self.cloud = None;
        }
        if settings.power != self.settings.power {
            self.power.reset();
        }
        if settings.engine != self.settings.engine || settings.models != self.settings.models {
            self.local.forget();
        }
        self.settings = settings;
    }

    /// Stores the cloud's API key in the OS keychain; the next cloud request uses it.
    pub fn store_api_key(&mut self, key: &str) -> Result<()> {
        fieldbrief_cloud::store_api_key(key).map_err(|e| Error::BadArgument(e.to_string()))?;
        self.store.set_setting(crate::cloud::KEY_IN_KEYCHAIN, "1")?;
        crate::cloud::KEY_GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cloud = None;
        Ok(())
    }

    /// Where the cloud's API key comes from, without reading the keychain (which can ask the
    /// user to unlock it, a prompt nobody expects from opening Settings with the cloud off):
    /// the environment, else what this data directory last knew of the keychain (a key stored
    /// through Fieldbrief, or found there when a request read it).
    pub(crate) fn known_key_source(&self) -> KeySource {
        if std::env::var(fieldbrief_cloud::KEY_ENV).is_ok_and(|k| !k.trim().is_empty()) {
            KeySource::Environment
        } else if self.store.setting(crate::cloud::KEY_IN_KEYCHAIN).ok().flatten().is_some() {
            KeySource::Keychain
        } else {
            KeySource::None
        }
    }

    /// Removes the cloud's API key from the OS keychain.
    pub fn clear_api_key(&mut self) -> Result<()> {
        fieldbrief_cloud::delete_api_key().map_err(|e| Error::Home(e.to_string()))?;
        self.store.delete_setting(crate::cloud::KEY_IN_KEYCHAIN)?;
        crate::cloud::KEY_GENERATION.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.cloud = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SettingsForm {
        SettingsForm::from_settings(&Settings::default())
    }

    #[test]
    fn editing_keeps_comments_and_keys_the_form_does_not_show() {
        let text = "# Set by IT, do not remove\n[limits]\nmax_input_mib = 20 # USB sticks are small\n\n[cloud]\n# our cluster\nendpoint = \"https://old.example/v1\"\ntotal_timeout_secs = 60\n";
        let mut f = form();
        f.cloud_enabled = true;
        f.endpoint = Some("https://llm.example.org/v1".into());
        f.model = Some("qwen".into());
        f.redact.insert("site".into(), r"SITE-\d{4}".into());
        f.power_mode = Override::Saver;
        let out = edit_config(text, &f).unwrap();
        assert!(
            out.contains("# Set by IT, do not remove")
                && out.contains("# USB sticks are small")
                && out.contains("# our cluster"),
            "{out}"
        );
        let s = Settings::parse(&out).unwrap();
        assert_eq!(s.limits.max_input_mib, 20);
        assert_eq!(s.cloud.total_timeout_secs, 60);
        assert!(s.cloud.enabled);
        assert_eq!(s.cloud.endpoint.as_deref(), Some("https://llm.example.org/v1"));
        assert_eq!(s.cloud.redact.get("site").map(String::as_str), Some(r"SITE-\d{4}"));
        assert_eq!(s.power.mode, Override::Saver);
        assert_eq!(SettingsForm::from_settings(&s), f, "what is written reads back as the form");
    }

    #[test]
    fn the_settings_view_says_where_the_key_is_from_what_it_remembers() {
        if std::env::var_os(fieldbrief_cloud::KEY_ENV).is_some() {
            // A developer's own key in the environment wins, as it should; nothing to learn.
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let fb = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(fb.settings_view().key_source, KeySource::None);
        // What a stored key (or one a request found in the keychain) leaves behind: a marker,
        // never the key, and no keychain read to show it.
        fb.store.set_setting(crate::cloud::KEY_IN_KEYCHAIN, "1").unwrap();
        assert_eq!(fb.settings_view().key_source, KeySource::Keychain);
    }

    #[test]
    fn clearing_a_field_removes_its_key() {
        let text = "[cloud]\nendpoint = \"https://a.example/v1\"\nmodel = \"m\"\n[cloud.redact]\nsite = 'S-\\d+'\n";
        let out = edit_config(text, &form()).unwrap();
        let s = Settings::parse(&out).unwrap();
        assert_eq!((s.cloud.endpoint, s.cloud.model), (None, None));
        assert!(s.cloud.redact.is_empty(), "{out}");
    }

    #[test]
    fn a_bad_form_writes_nothing_and_says_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let mut fb = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        std::fs::write(fb.home().config_path(), "# mine\n[summary]\nmax_words = 90\n").unwrap();
        fb.reload_settings().unwrap();
        let before = std::fs::read_to_string(fb.home().config_path()).unwrap();
        type Edit = fn(&mut SettingsForm);
        let cases: [(Edit, &str); 4] = [
            (|f| f.cloud_enabled = true, "needs an endpoint and a model"),
            (
                |f| {
                    f.endpoint = Some("http://llm.example.org/v1".into());
                    f.model = Some("m".into());
                },
                "HTTPS is required",
            ),
            (|f| drop(f.redact.insert("cust".into(), "CUST-(".into())), "cust"),
            (|f| drop(f.redact.insert("a b".into(), "x".into())), "letters, digits"),
        ];
        for (change, expected) in cases {
            let mut f = fb.settings_view().form;
            change(&mut f);
            let e = fb.save_settings(&f).unwrap_err();
            assert!(e.is_bad_input() && e.to_string().contains(expected), "{e}");
            assert_eq!(
                std::fs::read_to_string(fb.home().config_path()).unwrap(),
                before,
                "nothing written"
            );
        }
        assert_eq!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains("partial"))
                .count(),
            0
        );
    }

    #[test]
    fn a_saved_form_is_applied_here_and_seen_by_another_handle_after_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        let mut b = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        let mut f = a.settings_view().form;
        assert!(!f.cloud_enabled, "cloud is off by default");
        f.cloud_enabled = true;
        f.endpoint = Some(" http://127.0.0.1:9/v1 ".into());
        f.model = Some("m".into());
        f.work_offline = true;
        f.prefer = Preference::Local;
        f.metered = true;
        f.notifications = false;
        a.save_settings(&f).unwrap();
        assert!(a.settings().cloud.enabled && a.settings().cloud.work_offline);
        assert!(a.settings().models.metered, "metered reaches [models]");
        assert!(!a.settings().ui.notifications, "notifications reach [ui]");
        assert_eq!(
            a.settings().cloud.endpoint.as_deref(),
            Some("http://127.0.0.1:9/v1"),
            "trimmed"
        );
        assert!(!b.settings().cloud.enabled);
        assert!(b.reload_settings().unwrap());
        assert_eq!(b.settings(), a.settings());
        assert!(!b.reload_settings().unwrap(), "nothing changed the second time");
        // The status the app shows follows at once: working offline, never probed.
        let status = b.status().unwrap();
        assert!(matches!(status.connectivity, crate::NetState::NotProbed { .. }));
        assert!(status.cloud.work_offline);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_private_settings_file_stays_a_private_file_behind_its_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let managed = dir.path().join("managed.toml");
        std::fs::write(&managed, "# managed by IT\n").unwrap();
        std::fs::set_permissions(&managed, std::fs::Permissions::from_mode(0o600)).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::symlink(&managed, home.join("config.toml")).unwrap();
        let mut fb = Fieldbrief::open(Some(home.clone())).unwrap();
        let mut f = fb.settings_view().form;
        f.work_offline = true;
        fb.save_settings(&f).unwrap();
        assert!(
            std::fs::symlink_metadata(home.join("config.toml")).unwrap().file_type().is_symlink(),
            "still a link"
        );
        let text = std::fs::read_to_string(&managed).unwrap();
        assert!(text.contains("# managed by IT") && text.contains("work_offline = true"), "{text}");
        assert_eq!(std::fs::metadata(&managed).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn two_patterns_with_one_name_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut fb = Fieldbrief::open(Some(dir.path().to_path_buf())).unwrap();
        let mut f = fb.settings_view().form;
        f.redact.insert("site".into(), r"SITE-\d{4}".into());
        f.redact.insert(" site ".into(), r"S\d+".into());
        let e = fb.save_settings(&f).unwrap_err();
        assert!(e.to_string().contains("two redaction patterns are named \"site\""), "{e}");
    }
}
