//! The OpenAPI document as served, and the route table read from it.
//!
//! poem-openapi writes the document from the code; two things it cannot say are added
//! here, so the document promises what the server does:
//! - a property that may be absent may also be `null` (an `Option` answers `null` and
//!   accepts it), so every property outside `required` is marked `nullable`;
//! - how callers authenticate: the `bearerToken` and `sessionCookie` schemes, required by
//!   every operation whose description does not say `Role: public`.
//!
//! The same descriptions give the route table the request gate uses
//! (`middleware::contract`): each operation's role, checked before its parameters and
//! body, and each path's methods, for 405 and `Allow`.

use poem::http::Method;
use serde_json::{Map, Value, json};

use crate::auth::Role;

/// Who may call an operation, as its description declares (`Role: viewer.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Needs(Role),
}

/// One operation of the document.
#[derive(Debug, Clone)]
struct Operation {
    method: Method,
    access: Access,
}

/// One path template of the document, split into segments (`{id}` matches any one).
#[derive(Debug, Clone)]
struct PathTemplate {
    segments: Vec<Option<String>>,
    operations: Vec<Operation>,
}

/// What the table says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not an operation of the document (the UI, health, the document itself).
    Outside,
    /// The path exists but not with this method.
    MethodNotAllowed {
        allow: String,
    },
    Operation(Access),
}

/// The served document and the routes read from it.
pub struct Contract {
    document: String,
    prefix: String,
    paths: Vec<PathTemplate>,
}

impl Contract {
    /// Builds the contract from poem-openapi's document.
    pub fn new(generated: &str) -> Self {
        let mut doc: Value = serde_json::from_str(generated).unwrap_or(Value::Null);
        mark_nullable(&mut doc);
        declare_security(&mut doc);
        let prefix = doc["servers"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let paths = route_table(&doc);
        let document = serde_json::to_string_pretty(&doc).unwrap_or_default();
        Self {
            document,
            prefix,
            paths,
        }
    }

    /// The document as `GET /api/v1/openapi.json` serves it.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// What the document says about `method` on `path` (the full request path).
    pub fn lookup(&self, method: &Method, path: &str) -> Lookup {
        let Some(rest) = path.strip_prefix(&self.prefix) else {
            return Lookup::Outside;
        };
        let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        // A literal segment wins over a parameter (`/jails/reload` over `/jails/{name}`),
        // as in the router.
        let matching = self
            .paths
            .iter()
            .filter(|p| {
                p.segments.len() == segments.len()
                    && p.segments
                        .iter()
                        .zip(&segments)
                        .all(|(t, s)| t.as_deref().is_none_or(|lit| lit == *s))
                    && !segments.iter().any(|s| s.is_empty())
            })
            .max_by_key(|p| p.segments.iter().filter(|s| s.is_some()).count());
        let Some(template) = matching else {
            return Lookup::Outside;
        };
        let wanted = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        match template.operations.iter().find(|o| o.method == *wanted) {
            Some(op) => Lookup::Operation(op.access),
            None => {
                let mut allow: Vec<&str> = template
                    .operations
                    .iter()
                    .map(|o| o.method.as_str())
                    .collect();
                if allow.contains(&"GET") {
                    allow.push("HEAD");
                }
                Lookup::MethodNotAllowed {
                    allow: allow.join(", "),
                }
            }
        }
    }
}

/// Reads `Role: <role>` from an operation's description.
fn access_of(operation: &Value) -> Access {
    let text = format!(
        "{} {}",
        operation["summary"].as_str().unwrap_or_default(),
        operation["description"].as_str().unwrap_or_default()
    );
    let declared = text
        .split("Role: ")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphabetic)
                .collect::<String>()
        })
        .unwrap_or_default();
    if declared == "public" {
        return Access::Public;
    }
    // An operation without a readable role needs the highest: a missing declaration must
    // never open an operation (a test checks every operation declares one).
    Access::Needs(Role::parse(&declared).unwrap_or(Role::Admin))
}

fn route_table(doc: &Value) -> Vec<PathTemplate> {
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, item)| PathTemplate {
            segments: path
                .trim_start_matches('/')
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect(),
            operations: item
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(method, op)| {
                    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).ok()?;
                    Some(Operation {
                        method,
                        access: access_of(op),
                    })
                })
                .collect(),
        })
        .collect()
}

/// Marks every optional property of every component schema `nullable` (OpenAPI 3.0:
/// beside a `$ref` it must wrap the reference in `allOf`).
fn mark_nullable(doc: &mut Value) {
    let Some(schemas) = doc
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        // `get_mut`, not indexing: indexing a missing key would insert it.
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            if required.contains(name) {
                continue;
            }
            let Some(fields) = property.as_object_mut() else {
                continue;
            };
            if let Some(reference) = fields.remove("$ref") {
                fields.insert("allOf".into(), json!([{ "$ref": reference }]));
            }
            fields.insert("nullable".into(), Value::Bool(true));
        }
    }
}

/// Adds the two ways to authenticate and requires them where the role is not public.
fn declare_security(doc: &mut Value) {
    let schemes = json!({
        "bearerToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`bgt_…`, created under `POST /auth/tokens`); its role is never above its owner's."
        },
        "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": crate::auth::SESSION_COOKIE,
            "description": "The browser session set by `POST /auth/login`. Unsafe methods also need `X-Requested-With: bangui` and a same-origin `Origin`."
        }
    });
    if let Some(components) = doc["components"].as_object_mut() {
        components.insert("securitySchemes".into(), schemes);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for op in item.as_object_mut().into_iter().flat_map(Map::values_mut) {
            let security = match access_of(op) {
                Access::Public => json!([]),
                Access::Needs(_) => json!([{ "bearerToken": [] }, { "sessionCookie": [] }]),
            };
            if let Some(fields) = op.as_object_mut() {
                fields.insert("security".into(), security);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        Contract::new(
            &json!({
                "servers": [{ "url": "/api/v1" }],
                "paths": {
                    "/jails/{name}": { "get": { "description": "One jail. Role: viewer." } },
                    "/jails/reload": { "post": { "description": "Role: admin." } },
                    "/setup": {
                        "get": { "description": "Role: public." },
                        "post": { "description": "Role: public." }
                    },
                    "/odd": { "get": { "description": "no role written" } }
                },
                "components": { "schemas": { "A": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": { "type": "integer" },
                        "note": { "type": "string" },
                        "b": { "$ref": "#/components/schemas/B" }
                    }
                } } }
            })
            .to_string(),
        )
    }

    #[test]
    fn requests_are_matched_to_operations_literal_segments_first() {
        let c = contract();
        assert_eq!(
            c.lookup(&Method::GET, "/api/v1/jails/sshd"),
            Lookup::Operation(Access::Needs(Role::Viewer))
        );
        assert_eq!(
            c.lookup(&Method::POST, "/api/v1/jails/reload"),
            Lookup::Operation(Access::Needs(Role::Admin))
        );
        assert_eq!(
            c.lookup(&Method::DELETE, "/api/v1/jails/sshd"),
            Lookup::MethodNotAllowed {
                allow: "GET, HEAD".into()
            }
        );
        assert_eq!(
            c.lookup(&Method::HEAD, "/api/v1/setup"),
            Lookup::Operation(Access::Public)
        );
        assert_eq!(
            c.lookup(&Method::GET, "/api/v1/odd"),
            Lookup::Operation(Access::Needs(Role::Admin)),
            "no declaration: the highest role"
        );
        for outside in [
            "/",
            "/api/v1/nope",
            "/api/v1/jails//",
            "/healthz",
            "/api/v1",
        ] {
            assert_eq!(
                c.lookup(&Method::GET, outside),
                Lookup::Outside,
                "{outside}"
            );
        }
    }

    #[test]
    fn optional_properties_are_nullable_and_operations_declare_security() {
        let doc: Value = serde_json::from_str(contract().document()).expect("json");
        let props = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(props["id"].get("nullable"), None);
        assert!(doc["components"]["schemas"]["A"].get("nullable").is_none());
        assert_eq!(props["note"]["nullable"], true);
        assert_eq!(props["b"]["allOf"][0]["$ref"], "#/components/schemas/B");
        assert_eq!(props["b"]["nullable"], true);
        assert_eq!(doc["paths"]["/setup"]["get"]["security"], json!([]));
        assert_eq!(
            doc["paths"]["/jails/reload"]["post"]["security"][0],
            json!({ "bearerToken": [] })
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["sessionCookie"]["name"],
            "bangui_session"
        );
    }
}
