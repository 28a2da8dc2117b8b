//! Fields every Octavia object shares ([`Common`]), the status enums, ids and timestamps.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::input::{Field, Input};
use crate::error::ApiResult;

/// `provisioning_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Prov {
    PendingCreate,
    PendingUpdate,
    PendingDelete,
    Active,
    Error,
    Deleted,
}

impl Prov {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingCreate => "PENDING_CREATE",
            Self::PendingUpdate => "PENDING_UPDATE",
            Self::PendingDelete => "PENDING_DELETE",
            Self::Active => "ACTIVE",
            Self::Error => "ERROR",
            Self::Deleted => "DELETED",
        }
    }

    /// Any `PENDING_*`.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Self::PendingCreate | Self::PendingUpdate | Self::PendingDelete
        )
    }
}

/// `operating_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Oper {
    Online,
    Offline,
    Degraded,
    Error,
    Draining,
    NoMonitor,
}

/// A new object id (UUID v4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Now as Octavia renders timestamps: naive UTC ISO-8601 with microseconds, no `Z`.
pub fn now() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000".to_owned())
}

/// `[{"id": ...}]` reference list.
pub fn id_refs<'a>(ids: impl IntoIterator<Item = &'a str>) -> Value {
    Value::Array(ids.into_iter().map(|id| json!({ "id": id })).collect())
}

/// The shared fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Common {
    pub id: String,
    pub project_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub admin_state_up: bool,
    pub provisioning_status: Prov,
    pub operating_status: Oper,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub tags: Vec<String>,
}

/// The shared updatable fields as sent.
pub struct CommonInput {
    pub name: Field<String>,
    pub description: Field<String>,
    pub admin_state_up: Field<bool>,
    pub tags: Field<Vec<String>>,
}

impl CommonInput {
    /// Read `name`, `description` (when the object has one), `admin_state_up`, `tags`.
    pub fn read(input: &mut Input, with_description: bool) -> ApiResult<Self> {
        Ok(Self {
            name: input.string("name", 255)?,
            description: if with_description {
                input.string("description", 255)?
            } else {
                Field::Absent
            },
            admin_state_up: input.bool("admin_state_up")?,
            tags: input.strings("tags", 255)?,
        })
    }
}

impl Common {
    /// A new object in `PENDING_CREATE`.
    pub fn create(project_id: String, operating: Oper, input: CommonInput) -> Self {
        let mut c = Self {
            id: new_id(),
            project_id,
            name: None,
            description: None,
            admin_state_up: true,
            provisioning_status: Prov::PendingCreate,
            operating_status: operating,
            created_at: now(),
            updated_at: None,
            tags: Vec::new(),
        };
        c.apply(input);
        c
    }

    /// Apply sent fields (null name/description clear them; null admin_state_up is false, as
    /// WSME's `to_dict`).
    pub fn apply(&mut self, input: CommonInput) {
        match input.name {
            Field::Set(v) => self.name = Some(v),
            Field::Null => self.name = None,
            Field::Absent => {}
        }
        match input.description {
            Field::Set(v) => self.description = Some(v),
            Field::Null => self.description = None,
            Field::Absent => {}
        }
        match input.admin_state_up {
            Field::Set(v) => self.admin_state_up = v,
            Field::Null => self.admin_state_up = false,
            Field::Absent => {}
        }
        match input.tags {
            Field::Set(v) => self.tags = v,
            Field::Null => self.tags.clear(),
            Field::Absent => {}
        }
    }

    /// Mark as changed by an update.
    pub fn begin_update(&mut self) {
        self.provisioning_status = Prov::PendingUpdate;
        self.updated_at = Some(now());
    }

    /// The shared response fields (`tenant_id` = `project_id`, unset name/description `""`).
    pub fn wire(&self, with_description: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name.clone().unwrap_or_default()));
        if with_description {
            m.insert(
                "description".into(),
                json!(self.description.clone().unwrap_or_default()),
            );
        }
        m.insert("project_id".into(), json!(self.project_id));
        m.insert("tenant_id".into(), json!(self.project_id));
        m.insert("admin_state_up".into(), json!(self.admin_state_up));
        m.insert(
            "provisioning_status".into(),
            json!(self.provisioning_status),
        );
        m.insert("operating_status".into(), json!(self.operating_status));
        m.insert("created_at".into(), json!(self.created_at));
        m.insert("updated_at".into(), json!(self.updated_at));
        m.insert("tags".into(), json!(self.tags));
        m
    }
}

/// The filterable attributes every object has.
pub const COMMON_FILTERS: [&str; 9] = [
    "id",
    "name",
    "project_id",
    "tenant_id",
    "admin_state_up",
    "provisioning_status",
    "operating_status",
    "created_at",
    "updated_at",
];
