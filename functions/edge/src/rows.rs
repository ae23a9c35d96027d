//! generated — do not edit: run `cargo xtask generate` (from the model in sql/schema/src/moha)
//!
//! One struct per table of the `public` schema and one enum per enum type, as rows arrive
//! from the host. `bigint` and `numeric` fields accept a number or a numeric string.

use serde::{Deserialize, Serialize};

/// `public.actor_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActorKind {
    #[serde(rename = "human")]
    Human,
    #[serde(rename = "agent")]
    Agent,
    #[serde(rename = "service")]
    Service,
    #[serde(rename = "system")]
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Human => "human",
            ActorKind::Agent => "agent",
            ActorKind::Service => "service",
            ActorKind::System => "system",
        }
    }
}

/// `public.project_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProjectStatus {
    #[serde(rename = "draft")]
    Draft,
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "on_hold")]
    OnHold,
    #[serde(rename = "completed")]
    Completed,
    #[serde(rename = "archived")]
    Archived,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Draft => "draft",
            ProjectStatus::Active => "active",
            ProjectStatus::OnHold => "on_hold",
            ProjectStatus::Completed => "completed",
            ProjectStatus::Archived => "archived",
        }
    }
}

/// `public.blog_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlogStatus {
    #[serde(rename = "draft")]
    Draft,
    #[serde(rename = "review")]
    Review,
    #[serde(rename = "published")]
    Published,
    #[serde(rename = "archived")]
    Archived,
}

impl BlogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BlogStatus::Draft => "draft",
            BlogStatus::Review => "review",
            BlogStatus::Published => "published",
            BlogStatus::Archived => "archived",
        }
    }
}

/// `public.agent_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgentScope {
    #[serde(rename = "user")]
    User,
    #[serde(rename = "project")]
    Project,
    #[serde(rename = "global")]
    Global,
}

impl AgentScope {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentScope::User => "user",
            AgentScope::Project => "project",
            AgentScope::Global => "global",
        }
    }
}

/// `public.render_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RenderStatus {
    #[serde(rename = "queued")]
    Queued,
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "processing")]
    Processing,
    #[serde(rename = "succeeded")]
    Succeeded,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "cancelled")]
    Cancelled,
}

impl RenderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RenderStatus::Queued => "queued",
            RenderStatus::Pending => "pending",
            RenderStatus::Processing => "processing",
            RenderStatus::Succeeded => "succeeded",
            RenderStatus::Failed => "failed",
            RenderStatus::Cancelled => "cancelled",
        }
    }
}

/// `public.lead_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeadStatus {
    #[serde(rename = "new")]
    New,
    #[serde(rename = "contacted")]
    Contacted,
    #[serde(rename = "qualified")]
    Qualified,
    #[serde(rename = "proposal")]
    Proposal,
    #[serde(rename = "won")]
    Won,
    #[serde(rename = "lost")]
    Lost,
}

impl LeadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Proposal => "proposal",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
        }
    }
}

/// `public.lead_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeadSource {
    #[serde(rename = "website")]
    Website,
    #[serde(rename = "instagram")]
    Instagram,
    #[serde(rename = "tiktok")]
    Tiktok,
    #[serde(rename = "referral")]
    Referral,
    #[serde(rename = "walk_in")]
    WalkIn,
    #[serde(rename = "phone")]
    Phone,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "other")]
    Other,
}

impl LeadSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadSource::Website => "website",
            LeadSource::Instagram => "instagram",
            LeadSource::Tiktok => "tiktok",
            LeadSource::Referral => "referral",
            LeadSource::WalkIn => "walk_in",
            LeadSource::Phone => "phone",
            LeadSource::Email => "email",
            LeadSource::Other => "other",
        }
    }
}

/// `public.social_platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SocialPlatform {
    #[serde(rename = "instagram")]
    Instagram,
    #[serde(rename = "tiktok")]
    Tiktok,
}

impl SocialPlatform {
    pub fn as_str(self) -> &'static str {
        match self {
            SocialPlatform::Instagram => "instagram",
            SocialPlatform::Tiktok => "tiktok",
        }
    }
}

/// `public.message_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageType {
    #[serde(rename = "direct_message")]
    DirectMessage,
    #[serde(rename = "comment")]
    Comment,
    #[serde(rename = "mention")]
    Mention,
    #[serde(rename = "reply")]
    Reply,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::DirectMessage => "direct_message",
            MessageType::Comment => "comment",
            MessageType::Mention => "mention",
            MessageType::Reply => "reply",
        }
    }
}

/// `public.message_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageStatus {
    #[serde(rename = "unread")]
    Unread,
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "replied")]
    Replied,
    #[serde(rename = "archived")]
    Archived,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Unread => "unread",
            MessageStatus::Read => "read",
            MessageStatus::Replied => "replied",
            MessageStatus::Archived => "archived",
        }
    }
}

/// `public.agent_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgentStatus {
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "suspended")]
    Suspended,
}

impl AgentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Suspended => "suspended",
        }
    }
}

/// `public.proposal_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProposalStatus {
    #[serde(rename = "pending")]
    Pending,
    #[serde(rename = "approved")]
    Approved,
    #[serde(rename = "rejected")]
    Rejected,
    #[serde(rename = "expired")]
    Expired,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Expired => "expired",
        }
    }
}

/// `public.proposal_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProposalAction {
    #[serde(rename = "publish_post")]
    PublishPost,
    #[serde(rename = "send_reply")]
    SendReply,
    #[serde(rename = "assign_lead")]
    AssignLead,
    #[serde(rename = "set_lead_status")]
    SetLeadStatus,
}

impl ProposalAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalAction::PublishPost => "publish_post",
            ProposalAction::SendReply => "send_reply",
            ProposalAction::AssignLead => "assign_lead",
            ProposalAction::SetLeadStatus => "set_lead_status",
        }
    }
}

/// A row of `public.audit_logs`: Append-only trail of every change to business data, by humans and AI agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLogsRow {
    #[serde(deserialize_with = "lenient::number")]
    pub id: i64,
    pub table_name: String,
    pub record_id: Option<String>,
    pub action: String,
    pub performed_by: Option<String>,
    pub actor_kind: ActorKind,
    pub actor_role: String,
    pub timestamp: String,
    pub old_values: Option<serde_json::Value>,
    pub new_values: Option<serde_json::Value>,
    pub agent_id: Option<String>,
    pub token_id: Option<String>,
}

impl AuditLogsRow {
    pub const TABLE: &'static str = "public.audit_logs";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "table_name",
        "record_id",
        "action",
        "performed_by",
        "actor_kind",
        "actor_role",
        "timestamp",
        "old_values",
        "new_values",
        "agent_id",
        "token_id",
    ];
}

/// A row of `public.error_logs`: Errors of the backend and of AI agents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorLogsRow {
    #[serde(deserialize_with = "lenient::number")]
    pub id: i64,
    pub service: String,
    pub error_message: String,
    pub stack_trace: Option<String>,
    pub context: serde_json::Value,
    pub created_at: String,
}

impl ErrorLogsRow {
    pub const TABLE: &'static str = "public.error_logs";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "service",
        "error_message",
        "stack_trace",
        "context",
        "created_at",
    ];
}

/// A row of `public.roles`: System roles for RBAC: Admin, Designer, Client, Sales.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolesRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: String,
}

impl RolesRow {
    pub const TABLE: &'static str = "public.roles";
    pub const COLUMNS: &'static [&'static str] = &["id", "name", "description", "created_at"];
}

/// A row of `public.permissions`: What each role may do, as resource:action (a table and read/create/edit/delete, or a permission rules check such as blog:publish). Generated from the access matrix; the Agent role's rows are the scopes an agent token may hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionsRow {
    pub id: String,
    pub role_id: String,
    pub resource: String,
    pub action: String,
}

impl PermissionsRow {
    pub const TABLE: &'static str = "public.permissions";
    pub const COLUMNS: &'static [&'static str] = &["id", "role_id", "resource", "action"];
}

/// A row of `public.users`: Profile of an auth.users account (same id). Supabase Auth owns credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersRow {
    pub id: String,
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub role_id: String,
    pub created_at: String,
    pub updated_at: String,
}

impl UsersRow {
    pub const TABLE: &'static str = "public.users";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "email",
        "full_name",
        "phone",
        "role_id",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.user_sessions`: Custom session tracking (optional; Supabase Auth has its own sessions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSessionsRow {
    pub id: String,
    pub user_id: String,
    pub session_token: String,
    pub expires_at: String,
    pub created_at: String,
}

impl UserSessionsRow {
    pub const TABLE: &'static str = "public.user_sessions";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "user_id",
        "session_token",
        "expires_at",
        "created_at",
    ];
}

/// A row of `public.clients`: Clients of the studio; user_id links a client portal account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientsRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub user_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ClientsRow {
    pub const TABLE: &'static str = "public.clients";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "email",
        "phone",
        "address",
        "user_id",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.projects`: Portfolio and project management: the main project entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectsRow {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub client_id: Option<String>,
    pub status: ProjectStatus,
    pub is_published: bool,
    pub published_at: Option<String>,
    pub location: Option<serde_json::Value>,
    pub site: Option<serde_json::Value>,
    pub created_by: Option<String>,
    pub completed_at: Option<String>,
    pub archived_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ProjectsRow {
    pub const TABLE: &'static str = "public.projects";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "title",
        "description",
        "category",
        "client_id",
        "status",
        "is_published",
        "published_at",
        "location",
        "site",
        "created_by",
        "completed_at",
        "archived_at",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.project_images`: Project photos and media (files in the project-media bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectImagesRow {
    pub id: String,
    pub project_id: String,
    pub file_path: String,
    pub order_index: i32,
    pub caption: Option<String>,
    pub created_at: String,
}

impl ProjectImagesRow {
    pub const TABLE: &'static str = "public.project_images";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "project_id",
        "file_path",
        "order_index",
        "caption",
        "created_at",
    ];
}

/// A row of `public.project_tags`: Flexible tagging of projects for filtering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectTagsRow {
    pub id: String,
    pub project_id: String,
    pub tag: String,
}

impl ProjectTagsRow {
    pub const TABLE: &'static str = "public.project_tags";
    pub const COLUMNS: &'static [&'static str] = &["id", "project_id", "tag"];
}

/// A row of `public.blog_categories`: Categories of blog posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlogCategoriesRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: String,
}

impl BlogCategoriesRow {
    pub const TABLE: &'static str = "public.blog_categories";
    pub const COLUMNS: &'static [&'static str] = &["id", "name", "slug", "created_at"];
}

/// A row of `public.blog_posts`: CMS content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlogPostsRow {
    pub id: String,
    pub title: String,
    pub slug: String,
    pub content: String,
    pub excerpt: Option<String>,
    pub author_id: Option<String>,
    pub category_id: Option<String>,
    pub status: BlogStatus,
    pub published_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl BlogPostsRow {
    pub const TABLE: &'static str = "public.blog_posts";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "title",
        "slug",
        "content",
        "excerpt",
        "author_id",
        "category_id",
        "status",
        "published_at",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.blog_tags`: Flexible tags for search and filtering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlogTagsRow {
    pub id: String,
    pub post_id: String,
    pub tag: String,
}

impl BlogTagsRow {
    pub const TABLE: &'static str = "public.blog_tags";
    pub const COLUMNS: &'static [&'static str] = &["id", "post_id", "tag"];
}

/// A row of `public.blog_media`: Featured images and videos of posts (files in the blog-media bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlogMediaRow {
    pub id: String,
    pub post_id: String,
    pub file_path: String,
    pub is_featured: bool,
    pub created_at: String,
}

impl BlogMediaRow {
    pub const TABLE: &'static str = "public.blog_media";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "post_id",
        "file_path",
        "is_featured",
        "created_at",
    ];
}

/// A row of `public.agent_limits`: Per-agent limits per user, project or globally. A row without user_id/project_id is the scope's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLimitsRow {
    pub id: String,
    pub agent: String,
    pub scope: AgentScope,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub max_requests: i32,
    #[serde(default, deserialize_with = "lenient::optional_number")]
    pub max_tokens: Option<i64>,
    pub window_seconds: i32,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, deserialize_with = "lenient::optional_number")]
    pub max_cost: Option<f64>,
}

impl AgentLimitsRow {
    pub const TABLE: &'static str = "public.agent_limits";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "agent",
        "scope",
        "user_id",
        "project_id",
        "max_requests",
        "max_tokens",
        "window_seconds",
        "created_at",
        "updated_at",
        "max_cost",
    ];
}

/// A row of `public.agent_usage`: Requests, tokens and cost per agent, user or project, and window: the counters behind agent_limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentUsageRow {
    #[serde(deserialize_with = "lenient::number")]
    pub id: i64,
    pub agent: String,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub window_start: String,
    pub request_count: i32,
    #[serde(deserialize_with = "lenient::number")]
    pub tokens: i64,
    #[serde(deserialize_with = "lenient::number")]
    pub cost: f64,
    pub updated_at: String,
}

impl AgentUsageRow {
    pub const TABLE: &'static str = "public.agent_usage";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "agent",
        "user_id",
        "project_id",
        "window_start",
        "request_count",
        "tokens",
        "cost",
        "updated_at",
    ];
}

/// A row of `public.ai_cache`: Cached AI responses by prompt hash: the fallback when a quota is exhausted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiCacheRow {
    pub id: String,
    pub prompt_hash: String,
    pub model: String,
    pub response: serde_json::Value,
    #[serde(deserialize_with = "lenient::number")]
    pub hits: i64,
    pub created_at: String,
    pub expires_at: Option<String>,
}

impl AiCacheRow {
    pub const TABLE: &'static str = "public.ai_cache";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "prompt_hash",
        "model",
        "response",
        "hits",
        "created_at",
        "expires_at",
    ];
}

/// A row of `public.prompt_templates`: Prompt templates; the default per agent is used when AI quota is exhausted or no custom prompt exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptTemplatesRow {
    pub id: String,
    pub name: String,
    pub agent: String,
    pub version: i32,
    pub template: String,
    pub is_default: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl PromptTemplatesRow {
    pub const TABLE: &'static str = "public.prompt_templates";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "agent",
        "version",
        "template",
        "is_default",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.render_requests`: AI 3D rendering jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderRequestsRow {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub input_file_path: String,
    pub model: String,
    pub status: RenderStatus,
    pub error_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub retry_at: Option<String>,
    pub attempts: i32,
}

impl RenderRequestsRow {
    pub const TABLE: &'static str = "public.render_requests";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "user_id",
        "project_id",
        "input_file_path",
        "model",
        "status",
        "error_message",
        "created_at",
        "updated_at",
        "completed_at",
        "retry_at",
        "attempts",
    ];
}

/// A row of `public.render_results`: Outputs of render jobs from Claude/Gemini, with their cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderResultsRow {
    pub id: String,
    pub request_id: String,
    pub output_file_path: String,
    pub cost_tokens: i32,
    pub model_used: String,
    #[serde(deserialize_with = "lenient::number")]
    pub cost_usd: f64,
    pub created_at: String,
    pub is_fallback: bool,
}

impl RenderResultsRow {
    pub const TABLE: &'static str = "public.render_results";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "request_id",
        "output_file_path",
        "cost_tokens",
        "model_used",
        "cost_usd",
        "created_at",
        "is_fallback",
    ];
}

/// A row of `public.render_parameters`: Structured inputs of a render job's prompt (one set per request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderParametersRow {
    pub id: String,
    pub request_id: String,
    pub style: Option<String>,
    pub furnishings: Option<String>,
    pub lighting: Option<String>,
    pub walls: Option<String>,
    pub flooring: Option<String>,
    pub exterior: Option<String>,
    pub extra: serde_json::Value,
}

impl RenderParametersRow {
    pub const TABLE: &'static str = "public.render_parameters";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "request_id",
        "style",
        "furnishings",
        "lighting",
        "walls",
        "flooring",
        "exterior",
        "extra",
    ];
}

/// A row of `public.leads`: Lead tracking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadsRow {
    pub id: String,
    pub client_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub source: LeadSource,
    pub assigned_to: Option<String>,
    pub status: LeadStatus,
    pub score: Option<i16>,
    pub created_at: String,
    pub updated_at: String,
}

impl LeadsRow {
    pub const TABLE: &'static str = "public.leads";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "client_name",
        "email",
        "phone",
        "source",
        "assigned_to",
        "status",
        "score",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.lead_notes`: Communication log of a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadNotesRow {
    pub id: String,
    pub lead_id: String,
    pub note: String,
    pub created_by: Option<String>,
    pub created_at: String,
}

impl LeadNotesRow {
    pub const TABLE: &'static str = "public.lead_notes";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "lead_id",
        "note",
        "created_by",
        "created_at",
    ];
}

/// A row of `public.lead_scoring`: AI-powered and rule-based scores of a lead, newest last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadScoringRow {
    pub id: String,
    pub lead_id: String,
    pub score: i16,
    pub rationale: Option<String>,
    pub model: String,
    pub created_at: String,
}

impl LeadScoringRow {
    pub const TABLE: &'static str = "public.lead_scoring";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "lead_id",
        "score",
        "rationale",
        "model",
        "created_at",
    ];
}

/// A row of `public.social_accounts`: Connected Instagram/TikTok accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialAccountsRow {
    pub id: String,
    pub platform: SocialPlatform,
    pub username: String,
    pub access_token: Option<serde_json::Value>,
    pub token_updated_at: Option<String>,
    pub connected_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub token_expires_at: Option<String>,
    pub needs_reconnect: bool,
}

impl SocialAccountsRow {
    pub const TABLE: &'static str = "public.social_accounts";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "platform",
        "username",
        "access_token",
        "token_updated_at",
        "connected_by",
        "created_at",
        "updated_at",
        "token_expires_at",
        "needs_reconnect",
    ];
}

/// A row of `public.social_messages`: Unified inbox, range-partitioned by month on received_at (partitions in schema private).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialMessagesRow {
    pub id: String,
    pub account_id: String,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub sender_id: Option<String>,
    pub external_id: Option<String>,
    pub received_at: String,
    pub status: MessageStatus,
    pub created_at: String,
}

impl SocialMessagesRow {
    pub const TABLE: &'static str = "public.social_messages";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "account_id",
        "message_type",
        "content",
        "sender_id",
        "external_id",
        "received_at",
        "status",
        "created_at",
    ];
}

/// A row of `public.social_analytics`: Engagement metrics per account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialAnalyticsRow {
    pub id: String,
    pub account_id: String,
    pub metric_type: String,
    #[serde(deserialize_with = "lenient::number")]
    pub value: f64,
    pub recorded_at: String,
}

impl SocialAnalyticsRow {
    pub const TABLE: &'static str = "public.social_analytics";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "account_id",
        "metric_type",
        "value",
        "recorded_at",
    ];
}

/// A row of `public.social_sentiment`: AI-analysed sentiment of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialSentimentRow {
    pub id: String,
    pub message_id: String,
    pub message_received_at: String,
    #[serde(deserialize_with = "lenient::number")]
    pub sentiment_score: f64,
    pub model_used: String,
    pub created_at: String,
}

impl SocialSentimentRow {
    pub const TABLE: &'static str = "public.social_sentiment";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "message_id",
        "message_received_at",
        "sentiment_score",
        "model_used",
        "created_at",
    ];
}

/// A row of `public.notifications`: Live notifications for a user (delivered through Realtime).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub data: serde_json::Value,
    pub read_at: Option<String>,
    pub created_at: String,
}

impl NotificationsRow {
    pub const TABLE: &'static str = "public.notifications";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "user_id",
        "kind",
        "title",
        "body",
        "data",
        "read_at",
        "created_at",
    ];
}

/// A row of `public.agents`: Outside agents (IDE agents, automations): each acts through its own API tokens, within the scopes allowed here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentsRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner_id: String,
    pub status: AgentStatus,
    pub allowed_scopes: Vec<String>,
    pub max_token_days: i32,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl AgentsRow {
    pub const TABLE: &'static str = "public.agents";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "name",
        "description",
        "owner_id",
        "status",
        "allowed_scopes",
        "max_token_days",
        "created_by",
        "created_at",
        "updated_at",
    ];
}

/// A row of `public.api_tokens`: API tokens of agents. A token is moha_ + 32 random bytes, shown once; only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiTokensRow {
    pub id: String,
    pub agent_id: String,
    pub label: String,
    pub prefix: String,
    pub token_hash: String,
    pub scopes: Vec<String>,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl ApiTokensRow {
    pub const TABLE: &'static str = "public.api_tokens";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "agent_id",
        "label",
        "prefix",
        "token_hash",
        "scopes",
        "expires_at",
        "last_used_at",
        "created_by",
        "created_at",
        "revoked_at",
    ];
}

/// A row of `public.agent_proposals`: An agent's proposal of an irreversible or client-facing action; a human with the matching permission decides, and an approval runs it once as that human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentProposalsRow {
    pub id: String,
    pub agent_id: String,
    pub action: ProposalAction,
    pub target_id: String,
    pub payload: serde_json::Value,
    pub status: ProposalStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

impl AgentProposalsRow {
    pub const TABLE: &'static str = "public.agent_proposals";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "agent_id",
        "action",
        "target_id",
        "payload",
        "status",
        "decided_by",
        "decided_at",
        "reason",
        "created_at",
        "expires_at",
    ];
}

/// A row of `public.operations_settings`: The one row of settings the scheduled jobs read; an Admin changes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationsSettingsRow {
    pub id: bool,
    pub archive_completed_after: String,
    pub read_notifications_kept: String,
    pub agent_usage_kept: String,
    pub scheduler_history_kept: String,
    pub social_messages_kept_months: i32,
    pub updated_at: String,
}

impl OperationsSettingsRow {
    pub const TABLE: &'static str = "public.operations_settings";
    pub const COLUMNS: &'static [&'static str] = &[
        "id",
        "archive_completed_after",
        "read_notifications_kept",
        "agent_usage_kept",
        "scheduler_history_kept",
        "social_messages_kept_months",
        "updated_at",
    ];
}

/// Numbers that a driver may send as JSON strings (postgres.js does for `bigint` and `numeric`).
mod lenient {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText<T> {
        Number(T),
        Text(String),
    }

    fn parse<T: std::str::FromStr, E: Error>(v: NumberOrText<T>) -> Result<T, E> {
        match v {
            NumberOrText::Number(n) => Ok(n),
            NumberOrText::Text(s) => s
                .parse()
                .map_err(|_| E::custom(format!("{s:?} is not a number"))),
        }
    }

    pub fn number<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::str::FromStr,
    {
        parse(NumberOrText::deserialize(d)?)
    }

    pub fn optional_number<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::str::FromStr,
    {
        Option::<NumberOrText<T>>::deserialize(d)?
            .map(parse)
            .transpose()
    }
}
