//! A Lever posting as the API returns it (`GET /v1/postings/:id`, the
//! object in `data`): its title, tags, categories and the plain text of its
//! description and lists (which Lever gives as HTML).

use serde_json::Value;

/// What the analysis reads from a posting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Posting {
    /// Posting id.
    pub id: String,
    /// Title (`text`).
    pub title: String,
    /// Tags and category values (team, department, level…), for choosing the job family.
    pub labels: Vec<String>,
    /// Plain text of the description and every list, one item per line.
    pub body: String,
}

impl Posting {
    /// Reads a posting object; accepts the API's envelope `{ data: {...} }` too.
    ///
    /// ```
    /// let v = serde_json::json!({"data": {"id": "p1", "text": "Data Analyst",
    ///     "tags": ["data_analytics"], "categories": {"team": "Insights"},
    ///     "content": {"description": "Join us.", "lists": [{"text": "Requirements",
    ///     "content": "<li>SQL &amp; Python</li><li>Tableau</li>"}]}}});
    /// let p = panelflow_models::analysis::posting::Posting::from_lever(&v);
    /// assert_eq!(p.title, "Data Analyst");
    /// assert!(p.body.contains("SQL & Python\nTableau"));
    /// assert!(p.labels.contains(&"Insights".to_string()));
    /// ```
    pub fn from_lever(value: &Value) -> Self {
        let v = if value.get("data").is_some_and(Value::is_object) {
            &value["data"]
        } else {
            value
        };
        let mut labels: Vec<String> = Vec::new();
        if let Some(tags) = v["tags"].as_array() {
            labels.extend(tags.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if let Some(cats) = v["categories"].as_object() {
            for key in ["team", "department", "level", "commitment"] {
                if let Some(s) = cats.get(key).and_then(Value::as_str) {
                    labels.push(s.to_string());
                }
            }
        }
        let mut parts: Vec<String> = Vec::new();
        let content = &v["content"];
        match content["description"].as_str() {
            Some(d) => parts.push(strip_html(d)),
            None => {
                if let Some(d) = content["descriptionHtml"].as_str() {
                    parts.push(strip_html(d));
                }
            }
        }
        for list in content["lists"].as_array().into_iter().flatten() {
            if let Some(t) = list["text"].as_str() {
                parts.push(strip_html(t));
            }
            if let Some(c) = list["content"].as_str() {
                parts.push(strip_html(c));
            }
        }
        if let Some(c) = content["closing"].as_str() {
            parts.push(strip_html(c));
        }
        Self {
            id: v["id"].as_str().unwrap_or_default().to_string(),
            title: v["text"].as_str().unwrap_or_default().to_string(),
            labels,
            body: parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Title and body, for skill extraction.
    pub fn full_text(&self) -> String {
        format!("{}\n{}", self.title, self.body)
    }
}

/// HTML to plain text: tags removed (block tags become line breaks),
/// the common entities decoded, blank lines dropped.
///
/// ```
/// use panelflow_models::analysis::posting::strip_html;
/// assert_eq!(strip_html("<ul><li>Go</li><li>K8s &amp; AWS</li></ul>"), "Go\nK8s & AWS");
/// ```
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        if in_tag {
            if c == '>' {
                in_tag = false;
                let name = tag
                    .trim_start_matches('/')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if matches!(
                    name.as_str(),
                    "li" | "p"
                        | "div"
                        | "br"
                        | "br/"
                        | "ul"
                        | "ol"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "tr"
                ) {
                    out.push('\n');
                }
                tag.clear();
            } else {
                tag.push(c);
            }
        } else if c == '<' {
            in_tag = true;
        } else {
            out.push(c);
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}
