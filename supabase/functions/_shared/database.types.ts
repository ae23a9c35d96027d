// generated — do not edit: run `cargo xtask gen types` (from the model in sql/schema/src/moha)
export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: "12"
  }
  public: {
    Tables: {
      agent_limits: {
        Row: {
          agent: string
          created_at: string
          id: string
          max_cost: number | null
          max_requests: number
          max_tokens: number | null
          project_id: string | null
          scope: Database["public"]["Enums"]["agent_scope"]
          updated_at: string
          user_id: string | null
          window_seconds: number
        }
        Insert: {
          agent: string
          created_at?: string
          id?: string
          max_cost?: number | null
          max_requests: number
          max_tokens?: number | null
          project_id?: string | null
          scope: Database["public"]["Enums"]["agent_scope"]
          updated_at?: string
          user_id?: string | null
          window_seconds?: number
        }
        Update: {
          agent?: string
          created_at?: string
          id?: string
          max_cost?: number | null
          max_requests?: number
          max_tokens?: number | null
          project_id?: string | null
          scope?: Database["public"]["Enums"]["agent_scope"]
          updated_at?: string
          user_id?: string | null
          window_seconds?: number
        }
        Relationships: [
          {
            foreignKeyName: "agent_limits_project_id_fkey"
            columns: ["project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_limits_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      agent_proposals: {
        Row: {
          action: Database["public"]["Enums"]["proposal_action"]
          agent_id: string
          created_at: string
          decided_at: string | null
          decided_by: string | null
          expires_at: string
          id: string
          payload: NonNullable<Json>
          reason: string | null
          status: Database["public"]["Enums"]["proposal_status"]
          target_id: string
        }
        Insert: {
          action: Database["public"]["Enums"]["proposal_action"]
          agent_id?: string
          created_at?: string
          decided_at?: string | null
          decided_by?: string | null
          expires_at?: string
          id?: string
          payload?: NonNullable<Json>
          reason?: string | null
          status?: Database["public"]["Enums"]["proposal_status"]
          target_id: string
        }
        Update: {
          action?: Database["public"]["Enums"]["proposal_action"]
          agent_id?: string
          created_at?: string
          decided_at?: string | null
          decided_by?: string | null
          expires_at?: string
          id?: string
          payload?: NonNullable<Json>
          reason?: string | null
          status?: Database["public"]["Enums"]["proposal_status"]
          target_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "agent_proposals_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_proposals_decided_by_fkey"
            columns: ["decided_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      agent_usage: {
        Row: {
          agent: string
          cost: number
          id: number
          project_id: string | null
          request_count: number
          tokens: number
          updated_at: string
          user_id: string | null
          window_start: string
        }
        Insert: {
          agent: string
          cost?: number
          id?: never
          project_id?: string | null
          request_count?: number
          tokens?: number
          updated_at?: string
          user_id?: string | null
          window_start: string
        }
        Update: {
          agent?: string
          cost?: number
          id?: never
          project_id?: string | null
          request_count?: number
          tokens?: number
          updated_at?: string
          user_id?: string | null
          window_start?: string
        }
        Relationships: [
          {
            foreignKeyName: "agent_usage_project_id_fkey"
            columns: ["project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agent_usage_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      agents: {
        Row: {
          allowed_scopes: string[]
          created_at: string
          created_by: string | null
          description: string | null
          id: string
          max_token_days: number
          name: string
          owner_id: string
          status: Database["public"]["Enums"]["agent_status"]
          updated_at: string
        }
        Insert: {
          allowed_scopes?: string[]
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          max_token_days?: number
          name: string
          owner_id: string
          status?: Database["public"]["Enums"]["agent_status"]
          updated_at?: string
        }
        Update: {
          allowed_scopes?: string[]
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          max_token_days?: number
          name?: string
          owner_id?: string
          status?: Database["public"]["Enums"]["agent_status"]
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "agents_created_by_fkey"
            columns: ["created_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "agents_owner_id_fkey"
            columns: ["owner_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      ai_cache: {
        Row: {
          created_at: string
          expires_at: string | null
          hits: number
          id: string
          model: string
          prompt_hash: string
          response: NonNullable<Json>
        }
        Insert: {
          created_at?: string
          expires_at?: string | null
          hits?: number
          id?: string
          model: string
          prompt_hash: string
          response: NonNullable<Json>
        }
        Update: {
          created_at?: string
          expires_at?: string | null
          hits?: number
          id?: string
          model?: string
          prompt_hash?: string
          response?: NonNullable<Json>
        }
        Relationships: []
      }
      api_tokens: {
        Row: {
          agent_id: string
          created_at: string
          created_by: string | null
          expires_at: string
          id: string
          label: string
          last_used_at: string | null
          prefix: string
          revoked_at: string | null
          scopes: string[]
          token_hash: string
        }
        Insert: {
          agent_id: string
          created_at?: string
          created_by?: string | null
          expires_at: string
          id?: string
          label: string
          last_used_at?: string | null
          prefix: string
          revoked_at?: string | null
          scopes: string[]
          token_hash: string
        }
        Update: {
          agent_id?: string
          created_at?: string
          created_by?: string | null
          expires_at?: string
          id?: string
          label?: string
          last_used_at?: string | null
          prefix?: string
          revoked_at?: string | null
          scopes?: string[]
          token_hash?: string
        }
        Relationships: [
          {
            foreignKeyName: "api_tokens_agent_id_fkey"
            columns: ["agent_id"]
            isOneToOne: false
            referencedRelation: "agents"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "api_tokens_created_by_fkey"
            columns: ["created_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      audit_logs: {
        Row: {
          action: string
          actor_kind: Database["public"]["Enums"]["actor_kind"]
          actor_role: string
          agent_id: string | null
          id: number
          new_values: Json | null
          old_values: Json | null
          performed_by: string | null
          record_id: string | null
          table_name: string
          timestamp: string
          token_id: string | null
        }
        Insert: {
          action: string
          actor_kind: Database["public"]["Enums"]["actor_kind"]
          actor_role: string
          agent_id?: string | null
          id?: never
          new_values?: Json | null
          old_values?: Json | null
          performed_by?: string | null
          record_id?: string | null
          table_name: string
          timestamp?: string
          token_id?: string | null
        }
        Update: {
          action?: string
          actor_kind?: Database["public"]["Enums"]["actor_kind"]
          actor_role?: string
          agent_id?: string | null
          id?: never
          new_values?: Json | null
          old_values?: Json | null
          performed_by?: string | null
          record_id?: string | null
          table_name?: string
          timestamp?: string
          token_id?: string | null
        }
        Relationships: []
      }
      blog_categories: {
        Row: {
          created_at: string
          id: string
          name: string
          slug: string
        }
        Insert: {
          created_at?: string
          id?: string
          name: string
          slug: string
        }
        Update: {
          created_at?: string
          id?: string
          name?: string
          slug?: string
        }
        Relationships: []
      }
      blog_media: {
        Row: {
          created_at: string
          file_path: string
          id: string
          is_featured: boolean
          post_id: string
        }
        Insert: {
          created_at?: string
          file_path: string
          id?: string
          is_featured?: boolean
          post_id: string
        }
        Update: {
          created_at?: string
          file_path?: string
          id?: string
          is_featured?: boolean
          post_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "blog_media_post_id_fkey"
            columns: ["post_id"]
            isOneToOne: false
            referencedRelation: "blog_posts"
            referencedColumns: ["id"]
          },
        ]
      }
      blog_posts: {
        Row: {
          author_id: string | null
          category_id: string | null
          content: string
          created_at: string
          excerpt: string | null
          id: string
          published_at: string | null
          slug: string
          status: Database["public"]["Enums"]["blog_status"]
          title: string
          updated_at: string
        }
        Insert: {
          author_id?: string | null
          category_id?: string | null
          content?: string
          created_at?: string
          excerpt?: string | null
          id?: string
          published_at?: string | null
          slug: string
          status?: Database["public"]["Enums"]["blog_status"]
          title: string
          updated_at?: string
        }
        Update: {
          author_id?: string | null
          category_id?: string | null
          content?: string
          created_at?: string
          excerpt?: string | null
          id?: string
          published_at?: string | null
          slug?: string
          status?: Database["public"]["Enums"]["blog_status"]
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "blog_posts_author_id_fkey"
            columns: ["author_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "blog_posts_category_id_fkey"
            columns: ["category_id"]
            isOneToOne: false
            referencedRelation: "blog_categories"
            referencedColumns: ["id"]
          },
        ]
      }
      blog_tags: {
        Row: {
          id: string
          post_id: string
          tag: string
        }
        Insert: {
          id?: string
          post_id: string
          tag: string
        }
        Update: {
          id?: string
          post_id?: string
          tag?: string
        }
        Relationships: [
          {
            foreignKeyName: "blog_tags_post_id_fkey"
            columns: ["post_id"]
            isOneToOne: false
            referencedRelation: "blog_posts"
            referencedColumns: ["id"]
          },
        ]
      }
      clients: {
        Row: {
          address: string | null
          created_at: string
          email: string | null
          id: string
          name: string
          phone: string | null
          updated_at: string
          user_id: string | null
        }
        Insert: {
          address?: string | null
          created_at?: string
          email?: string | null
          id?: string
          name: string
          phone?: string | null
          updated_at?: string
          user_id?: string | null
        }
        Update: {
          address?: string | null
          created_at?: string
          email?: string | null
          id?: string
          name?: string
          phone?: string | null
          updated_at?: string
          user_id?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "clients_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: true
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      error_logs: {
        Row: {
          context: NonNullable<Json>
          created_at: string
          error_message: string
          id: number
          service: string
          stack_trace: string | null
        }
        Insert: {
          context?: NonNullable<Json>
          created_at?: string
          error_message: string
          id?: never
          service: string
          stack_trace?: string | null
        }
        Update: {
          context?: NonNullable<Json>
          created_at?: string
          error_message?: string
          id?: never
          service?: string
          stack_trace?: string | null
        }
        Relationships: []
      }
      lead_notes: {
        Row: {
          created_at: string
          created_by: string | null
          id: string
          lead_id: string
          note: string
        }
        Insert: {
          created_at?: string
          created_by?: string | null
          id?: string
          lead_id: string
          note: string
        }
        Update: {
          created_at?: string
          created_by?: string | null
          id?: string
          lead_id?: string
          note?: string
        }
        Relationships: [
          {
            foreignKeyName: "lead_notes_created_by_fkey"
            columns: ["created_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "lead_notes_lead_id_fkey"
            columns: ["lead_id"]
            isOneToOne: false
            referencedRelation: "leads"
            referencedColumns: ["id"]
          },
        ]
      }
      lead_scoring: {
        Row: {
          created_at: string
          id: string
          lead_id: string
          model: string
          rationale: string | null
          score: number
        }
        Insert: {
          created_at?: string
          id?: string
          lead_id: string
          model: string
          rationale?: string | null
          score: number
        }
        Update: {
          created_at?: string
          id?: string
          lead_id?: string
          model?: string
          rationale?: string | null
          score?: number
        }
        Relationships: [
          {
            foreignKeyName: "lead_scoring_lead_id_fkey"
            columns: ["lead_id"]
            isOneToOne: false
            referencedRelation: "leads"
            referencedColumns: ["id"]
          },
        ]
      }
      leads: {
        Row: {
          assigned_to: string | null
          client_name: string
          created_at: string
          email: string | null
          id: string
          phone: string | null
          score: number | null
          source: Database["public"]["Enums"]["lead_source"]
          status: Database["public"]["Enums"]["lead_status"]
          updated_at: string
        }
        Insert: {
          assigned_to?: string | null
          client_name: string
          created_at?: string
          email?: string | null
          id?: string
          phone?: string | null
          score?: number | null
          source?: Database["public"]["Enums"]["lead_source"]
          status?: Database["public"]["Enums"]["lead_status"]
          updated_at?: string
        }
        Update: {
          assigned_to?: string | null
          client_name?: string
          created_at?: string
          email?: string | null
          id?: string
          phone?: string | null
          score?: number | null
          source?: Database["public"]["Enums"]["lead_source"]
          status?: Database["public"]["Enums"]["lead_status"]
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "leads_assigned_to_fkey"
            columns: ["assigned_to"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      notifications: {
        Row: {
          body: string | null
          created_at: string
          data: NonNullable<Json>
          id: string
          kind: string
          read_at: string | null
          title: string
          user_id: string
        }
        Insert: {
          body?: string | null
          created_at?: string
          data?: NonNullable<Json>
          id?: string
          kind: string
          read_at?: string | null
          title: string
          user_id: string
        }
        Update: {
          body?: string | null
          created_at?: string
          data?: NonNullable<Json>
          id?: string
          kind?: string
          read_at?: string | null
          title?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "notifications_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      operations_settings: {
        Row: {
          agent_usage_kept: string
          archive_completed_after: string
          id: boolean
          read_notifications_kept: string
          scheduler_history_kept: string
          social_messages_kept_months: number
          updated_at: string
        }
        Insert: {
          agent_usage_kept?: string
          archive_completed_after?: string
          id?: boolean
          read_notifications_kept?: string
          scheduler_history_kept?: string
          social_messages_kept_months?: number
          updated_at?: string
        }
        Update: {
          agent_usage_kept?: string
          archive_completed_after?: string
          id?: boolean
          read_notifications_kept?: string
          scheduler_history_kept?: string
          social_messages_kept_months?: number
          updated_at?: string
        }
        Relationships: []
      }
      permissions: {
        Row: {
          action: string
          id: string
          resource: string
          role_id: string
        }
        Insert: {
          action: string
          id?: string
          resource: string
          role_id: string
        }
        Update: {
          action?: string
          id?: string
          resource?: string
          role_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "permissions_role_id_fkey"
            columns: ["role_id"]
            isOneToOne: false
            referencedRelation: "roles"
            referencedColumns: ["id"]
          },
        ]
      }
      project_images: {
        Row: {
          caption: string | null
          created_at: string
          file_path: string
          id: string
          order_index: number
          project_id: string
        }
        Insert: {
          caption?: string | null
          created_at?: string
          file_path: string
          id?: string
          order_index?: number
          project_id: string
        }
        Update: {
          caption?: string | null
          created_at?: string
          file_path?: string
          id?: string
          order_index?: number
          project_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "project_images_project_id_fkey"
            columns: ["project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id"]
          },
        ]
      }
      project_tags: {
        Row: {
          id: string
          project_id: string
          tag: string
        }
        Insert: {
          id?: string
          project_id: string
          tag: string
        }
        Update: {
          id?: string
          project_id?: string
          tag?: string
        }
        Relationships: [
          {
            foreignKeyName: "project_tags_project_id_fkey"
            columns: ["project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id"]
          },
        ]
      }
      projects: {
        Row: {
          archived_at: string | null
          category: string | null
          client_id: string | null
          completed_at: string | null
          created_at: string
          created_by: string | null
          description: string | null
          id: string
          is_published: boolean
          location: unknown
          published_at: string | null
          site: unknown
          status: Database["public"]["Enums"]["project_status"]
          title: string
          updated_at: string
        }
        Insert: {
          archived_at?: string | null
          category?: string | null
          client_id?: string | null
          completed_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          is_published?: boolean
          location?: unknown
          published_at?: string | null
          site?: unknown
          status?: Database["public"]["Enums"]["project_status"]
          title: string
          updated_at?: string
        }
        Update: {
          archived_at?: string | null
          category?: string | null
          client_id?: string | null
          completed_at?: string | null
          created_at?: string
          created_by?: string | null
          description?: string | null
          id?: string
          is_published?: boolean
          location?: unknown
          published_at?: string | null
          site?: unknown
          status?: Database["public"]["Enums"]["project_status"]
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "projects_client_id_fkey"
            columns: ["client_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "projects_created_by_fkey"
            columns: ["created_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      prompt_templates: {
        Row: {
          agent: string
          created_at: string
          id: string
          is_default: boolean
          name: string
          template: string
          updated_at: string
          version: number
        }
        Insert: {
          agent: string
          created_at?: string
          id?: string
          is_default?: boolean
          name: string
          template: string
          updated_at?: string
          version?: number
        }
        Update: {
          agent?: string
          created_at?: string
          id?: string
          is_default?: boolean
          name?: string
          template?: string
          updated_at?: string
          version?: number
        }
        Relationships: []
      }
      render_parameters: {
        Row: {
          exterior: string | null
          extra: NonNullable<Json>
          flooring: string | null
          furnishings: string | null
          id: string
          lighting: string | null
          request_id: string
          style: string | null
          walls: string | null
        }
        Insert: {
          exterior?: string | null
          extra?: NonNullable<Json>
          flooring?: string | null
          furnishings?: string | null
          id?: string
          lighting?: string | null
          request_id: string
          style?: string | null
          walls?: string | null
        }
        Update: {
          exterior?: string | null
          extra?: NonNullable<Json>
          flooring?: string | null
          furnishings?: string | null
          id?: string
          lighting?: string | null
          request_id?: string
          style?: string | null
          walls?: string | null
        }
        Relationships: [
          {
            foreignKeyName: "render_parameters_request_id_fkey"
            columns: ["request_id"]
            isOneToOne: true
            referencedRelation: "render_requests"
            referencedColumns: ["id"]
          },
        ]
      }
      render_requests: {
        Row: {
          attempts: number
          completed_at: string | null
          created_at: string
          error_message: string | null
          id: string
          input_file_path: string
          model: string
          project_id: string | null
          retry_at: string | null
          status: Database["public"]["Enums"]["render_status"]
          updated_at: string
          user_id: string
        }
        Insert: {
          attempts?: number
          completed_at?: string | null
          created_at?: string
          error_message?: string | null
          id?: string
          input_file_path: string
          model?: string
          project_id?: string | null
          retry_at?: string | null
          status?: Database["public"]["Enums"]["render_status"]
          updated_at?: string
          user_id?: string
        }
        Update: {
          attempts?: number
          completed_at?: string | null
          created_at?: string
          error_message?: string | null
          id?: string
          input_file_path?: string
          model?: string
          project_id?: string | null
          retry_at?: string | null
          status?: Database["public"]["Enums"]["render_status"]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "render_requests_project_id_fkey"
            columns: ["project_id"]
            isOneToOne: false
            referencedRelation: "projects"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "render_requests_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      render_results: {
        Row: {
          cost_tokens: number
          cost_usd: number
          created_at: string
          id: string
          is_fallback: boolean
          model_used: string
          output_file_path: string
          request_id: string
        }
        Insert: {
          cost_tokens?: number
          cost_usd?: number
          created_at?: string
          id?: string
          is_fallback?: boolean
          model_used: string
          output_file_path: string
          request_id: string
        }
        Update: {
          cost_tokens?: number
          cost_usd?: number
          created_at?: string
          id?: string
          is_fallback?: boolean
          model_used?: string
          output_file_path?: string
          request_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "render_results_request_id_fkey"
            columns: ["request_id"]
            isOneToOne: false
            referencedRelation: "render_requests"
            referencedColumns: ["id"]
          },
        ]
      }
      roles: {
        Row: {
          created_at: string
          description: string | null
          id: string
          name: string
        }
        Insert: {
          created_at?: string
          description?: string | null
          id?: string
          name: string
        }
        Update: {
          created_at?: string
          description?: string | null
          id?: string
          name?: string
        }
        Relationships: []
      }
      social_accounts: {
        Row: {
          access_token: string | null
          connected_by: string | null
          created_at: string
          id: string
          needs_reconnect: boolean
          platform: Database["public"]["Enums"]["social_platform"]
          token_expires_at: string | null
          token_updated_at: string | null
          updated_at: string
          username: string
        }
        Insert: {
          access_token?: string | null
          connected_by?: string | null
          created_at?: string
          id?: string
          needs_reconnect?: boolean
          platform: Database["public"]["Enums"]["social_platform"]
          token_expires_at?: string | null
          token_updated_at?: string | null
          updated_at?: string
          username: string
        }
        Update: {
          access_token?: string | null
          connected_by?: string | null
          created_at?: string
          id?: string
          needs_reconnect?: boolean
          platform?: Database["public"]["Enums"]["social_platform"]
          token_expires_at?: string | null
          token_updated_at?: string | null
          updated_at?: string
          username?: string
        }
        Relationships: [
          {
            foreignKeyName: "social_accounts_connected_by_fkey"
            columns: ["connected_by"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      social_analytics: {
        Row: {
          account_id: string
          id: string
          metric_type: string
          recorded_at: string
          value: number
        }
        Insert: {
          account_id: string
          id?: string
          metric_type: string
          recorded_at?: string
          value: number
        }
        Update: {
          account_id?: string
          id?: string
          metric_type?: string
          recorded_at?: string
          value?: number
        }
        Relationships: [
          {
            foreignKeyName: "social_analytics_account_id_fkey"
            columns: ["account_id"]
            isOneToOne: false
            referencedRelation: "social_accounts"
            referencedColumns: ["id"]
          },
        ]
      }
      social_messages: {
        Row: {
          account_id: string
          content: string | null
          created_at: string
          external_id: string | null
          id: string
          message_type: Database["public"]["Enums"]["message_type"]
          received_at: string
          sender_id: string | null
          status: Database["public"]["Enums"]["message_status"]
        }
        Insert: {
          account_id: string
          content?: string | null
          created_at?: string
          external_id?: string | null
          id?: string
          message_type: Database["public"]["Enums"]["message_type"]
          received_at?: string
          sender_id?: string | null
          status?: Database["public"]["Enums"]["message_status"]
        }
        Update: {
          account_id?: string
          content?: string | null
          created_at?: string
          external_id?: string | null
          id?: string
          message_type?: Database["public"]["Enums"]["message_type"]
          received_at?: string
          sender_id?: string | null
          status?: Database["public"]["Enums"]["message_status"]
        }
        Relationships: [
          {
            foreignKeyName: "social_messages_account_id_fkey"
            columns: ["account_id"]
            isOneToOne: false
            referencedRelation: "social_accounts"
            referencedColumns: ["id"]
          },
        ]
      }
      social_sentiment: {
        Row: {
          created_at: string
          id: string
          message_id: string
          message_received_at: string
          model_used: string
          sentiment_score: number
        }
        Insert: {
          created_at?: string
          id?: string
          message_id: string
          message_received_at: string
          model_used: string
          sentiment_score: number
        }
        Update: {
          created_at?: string
          id?: string
          message_id?: string
          message_received_at?: string
          model_used?: string
          sentiment_score?: number
        }
        Relationships: [
          {
            foreignKeyName: "social_sentiment_message_id_message_received_at_fkey"
            columns: ["message_id", "message_received_at"]
            isOneToOne: false
            referencedRelation: "social_messages"
            referencedColumns: ["id", "received_at"]
          },
        ]
      }
      user_sessions: {
        Row: {
          created_at: string
          expires_at: string
          id: string
          session_token: string
          user_id: string
        }
        Insert: {
          created_at?: string
          expires_at: string
          id?: string
          session_token: string
          user_id: string
        }
        Update: {
          created_at?: string
          expires_at?: string
          id?: string
          session_token?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "user_sessions_user_id_fkey"
            columns: ["user_id"]
            isOneToOne: false
            referencedRelation: "users"
            referencedColumns: ["id"]
          },
        ]
      }
      users: {
        Row: {
          created_at: string
          email: string | null
          full_name: string | null
          id: string
          phone: string | null
          role_id: string
          updated_at: string
        }
        Insert: {
          created_at?: string
          email?: string | null
          full_name?: string | null
          id: string
          phone?: string | null
          role_id: string
          updated_at?: string
        }
        Update: {
          created_at?: string
          email?: string | null
          full_name?: string | null
          id?: string
          phone?: string | null
          role_id?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "users_role_id_fkey"
            columns: ["role_id"]
            isOneToOne: false
            referencedRelation: "roles"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      archive_old_projects: { Args: { cutoff?: string }; Returns: number }
      backend_metrics: {
        Args: Record<PropertyKey, never>
        Returns: {
          labels: Json
          metric: string
          value: number
        }[]
      }
      begin_social_connect: {
        Args: {
          account_id: string
          created_by: string
          platform: Database["public"]["Enums"]["social_platform"]
        }
        Returns: string
      }
      claim_lead_scoring: {
        Args: { batch: number }
        Returns: {
          lead_id: string
        }[]
      }
      connect_social_account: {
        Args: {
          access_token: string
          account_id: string
          created_by: string
          expires_in: number
          platform: Database["public"]["Enums"]["social_platform"]
          platform_user_id: string
          refresh_expires_in: number
          refresh_token: string
          username: string
        }
        Returns: string
      }
      consume_social_connect: {
        Args: { state: string }
        Returns: {
          account_id: string
          created_by: string
          platform: Database["public"]["Enums"]["social_platform"]
        }[]
      }
      create_social_messages_partitions: {
        Args: { from_month?: string; months_ahead?: number }
        Returns: number
      }
      decide_agent_proposal: {
        Args: { approve: boolean; proposal_id: string; reason?: string }
        Returns: Database["public"]["Enums"]["proposal_status"]
      }
      inbox: {
        Args: { account_ids: string[]; max_rows?: number; since?: string }
        Returns: {
          account_id: string
          content: string
          id: string
          message_type: Database["public"]["Enums"]["message_type"]
          received_at: string
          sender_id: string
          status: Database["public"]["Enums"]["message_status"]
        }[]
      }
      increment_agent_counter:
        | {
            Args: { agent: string; project_id?: string; user_id: string }
            Returns: number
          }
        | {
            Args: {
              agent: string
              project_id: string
              reserve_cost: number
              user_id: string
            }
            Returns: number
          }
      increment_render_counter:
        | { Args: { project_id?: string; user_id: string }; Returns: number }
        | {
            Args: { project_id: string; reserve_cost: number; user_id: string }
            Returns: number
          }
      log_audit_action: {
        Args: {
          action: string
          new_values?: Json
          old_values?: Json
          record_id: string
          table_name: string
          user_id?: string
        }
        Returns: number
      }
      mark_social_reconnect: {
        Args: { account_id: string; reason: string }
        Returns: number
      }
      queue_lead_scoring: { Args: { lead_id: string }; Returns: boolean }
      record_agent_usage: {
        Args: {
          agent: string
          cost?: number
          project_id: string
          tokens: number
          user_id: string
        }
        Returns: undefined
      }
      set_social_account_token: {
        Args: { account_id: string; token: string }
        Returns: undefined
      }
      social_account_refresh_token: {
        Args: { account_id: string }
        Returns: string
      }
      social_account_token: { Args: { account_id: string }; Returns: string }
      social_tokens_due: {
        Args: { batch?: number }
        Returns: {
          account_id: string
          platform: Database["public"]["Enums"]["social_platform"]
        }[]
      }
      store_social_tokens: {
        Args: {
          access_token: string
          account_id: string
          expires_in: number
          refresh_expires_in: number
          refresh_token: string
        }
        Returns: undefined
      }
      update_lead_score: { Args: { lead_id: string }; Returns: number }
    }
    Enums: {
      actor_kind: "human" | "agent" | "service" | "system"
      agent_scope: "user" | "project" | "global"
      agent_status: "active" | "suspended"
      blog_status: "draft" | "review" | "published" | "archived"
      lead_source:
        | "website"
        | "instagram"
        | "tiktok"
        | "referral"
        | "walk_in"
        | "phone"
        | "email"
        | "other"
      lead_status:
        | "new"
        | "contacted"
        | "qualified"
        | "proposal"
        | "won"
        | "lost"
      message_status: "unread" | "read" | "replied" | "archived"
      message_type: "direct_message" | "comment" | "mention" | "reply"
      project_status: "draft" | "active" | "on_hold" | "completed" | "archived"
      proposal_action:
        | "publish_post"
        | "send_reply"
        | "assign_lead"
        | "set_lead_status"
      proposal_status: "pending" | "approved" | "rejected" | "expired"
      render_status:
        | "queued"
        | "pending"
        | "processing"
        | "succeeded"
        | "failed"
        | "cancelled"
      social_platform: "instagram" | "tiktok"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  public: {
    Enums: {
      actor_kind: ["human", "agent", "service", "system"],
      agent_scope: ["user", "project", "global"],
      agent_status: ["active", "suspended"],
      blog_status: ["draft", "review", "published", "archived"],
      lead_source: [
        "website",
        "instagram",
        "tiktok",
        "referral",
        "walk_in",
        "phone",
        "email",
        "other",
      ],
      lead_status: ["new", "contacted", "qualified", "proposal", "won", "lost"],
      message_status: ["unread", "read", "replied", "archived"],
      message_type: ["direct_message", "comment", "mention", "reply"],
      project_status: ["draft", "active", "on_hold", "completed", "archived"],
      proposal_action: [
        "publish_post",
        "send_reply",
        "assign_lead",
        "set_lead_status",
      ],
      proposal_status: ["pending", "approved", "rejected", "expired"],
      render_status: [
        "queued",
        "pending",
        "processing",
        "succeeded",
        "failed",
        "cancelled",
      ],
      social_platform: ["instagram", "tiktok"],
    },
  },
} as const
