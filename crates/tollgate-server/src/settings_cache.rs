//! The settings in force, cached in memory: every request reads them, so a lookup is a lock and a
//! clone of an `Arc`.

use std::sync::{Arc, RwLock};

use jiff::tz::TimeZone;
use tollgate_core::settings::Settings;
use tollgate_core::window::WindowClock;
use tollgate_store::{Store, StoreError};

use crate::secrets::SecretBox;
use crate::secrets::stored::open_settings;

/// The settings in force, cached in memory. A write through this process refreshes it at once;
/// writes by other processes on the same database are picked up by [`SettingsCache::refresh`],
/// which the server runs every `settings_refresh_secs`.
#[derive(Clone)]
pub struct SettingsCache {
    store: Arc<dyn Store>,
    /// The settings and the window clock built from them (a zone lookup is not free; do it once).
    current: Arc<RwLock<(Arc<Settings>, WindowClock)>>,
    default_zone: Arc<(String, TimeZone)>,
    secrets: Arc<SecretBox>,
}

impl SettingsCache {
    pub async fn load(
        store: Arc<dyn Store>,
        default_zone: (String, TimeZone),
        secrets: Arc<SecretBox>,
    ) -> Result<Self, StoreError> {
        let settings = Arc::new(Settings::from_stored(&open_settings(&secrets, store.load_settings().await?)?));
        let clock = settings.clock(&default_zone.1);
        Ok(Self {
            store,
            current: Arc::new(RwLock::new((settings, clock))),
            default_zone: Arc::new(default_zone),
            secrets,
        })
    }

    /// A snapshot of the settings.
    pub fn get(&self) -> Arc<Settings> {
        match self.current.read() {
            Ok(g) => g.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// Re-reads the settings table.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let fresh = Arc::new(Settings::from_stored(&open_settings(&self.secrets, self.store.load_settings().await?)?));
        let clock = fresh.clock(&self.default_zone.1);
        match self.current.write() {
            Ok(mut g) => *g = (fresh, clock),
            Err(poisoned) => *poisoned.into_inner() = (fresh, clock),
        }
        Ok(())
    }

    /// The window clock in force.
    pub fn clock(&self) -> WindowClock {
        match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// The server's default zone name (used when `quota_timezone` is unset).
    pub fn default_zone_name(&self) -> &str {
        &self.default_zone.0
    }
}
