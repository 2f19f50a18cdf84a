export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  public: {
    Tables: {
      clients: {
        Row: {
          created_at: string
          email: string | null
          event_sequence: number
          id: string
          name: string
          notes: string | null
          org_id: string
          phone: string | null
          updated_at: string
        }
        Insert: {
          created_at?: string
          email?: string | null
          event_sequence?: number
          id?: string
          name: string
          notes?: string | null
          org_id: string
          phone?: string | null
          updated_at?: string
        }
        Update: {
          created_at?: string
          email?: string | null
          event_sequence?: number
          id?: string
          name?: string
          notes?: string | null
          org_id?: string
          phone?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "clients_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      estimates: {
        Row: {
          client_id: string
          created_at: string
          estimate_no: string | null
          event_sequence: number
          id: string
          job_id: string | null
          org_id: string
          status: Database["public"]["Enums"]["estimate_status"]
          total: number
          updated_at: string
        }
        Insert: {
          client_id: string
          created_at?: string
          estimate_no?: string | null
          event_sequence?: number
          id?: string
          job_id?: string | null
          org_id: string
          status?: Database["public"]["Enums"]["estimate_status"]
          total?: number
          updated_at?: string
        }
        Update: {
          client_id?: string
          created_at?: string
          estimate_no?: string | null
          event_sequence?: number
          id?: string
          job_id?: string | null
          org_id?: string
          status?: Database["public"]["Enums"]["estimate_status"]
          total?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "estimates_client_fkey"
            columns: ["org_id", "client_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "estimates_job_fkey"
            columns: ["org_id", "job_id"]
            isOneToOne: false
            referencedRelation: "jobs"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "estimates_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      inspections: {
        Row: {
          answers: NonNullable<Json>
          created_at: string
          event_sequence: number
          id: string
          job_id: string
          org_id: string
          status: Database["public"]["Enums"]["inspection_status"]
          submitted_at: string | null
          updated_at: string
        }
        Insert: {
          answers?: NonNullable<Json>
          created_at?: string
          event_sequence?: number
          id?: string
          job_id: string
          org_id: string
          status?: Database["public"]["Enums"]["inspection_status"]
          submitted_at?: string | null
          updated_at?: string
        }
        Update: {
          answers?: NonNullable<Json>
          created_at?: string
          event_sequence?: number
          id?: string
          job_id?: string
          org_id?: string
          status?: Database["public"]["Enums"]["inspection_status"]
          submitted_at?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "inspections_job_fkey"
            columns: ["org_id", "job_id"]
            isOneToOne: false
            referencedRelation: "jobs"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "inspections_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      invoices: {
        Row: {
          amount_paid: number
          client_id: string
          created_at: string
          due_at: string | null
          estimate_id: string | null
          event_sequence: number
          id: string
          invoice_no: string
          issued_at: string | null
          job_id: string | null
          org_id: string
          paid_at: string | null
          status: Database["public"]["Enums"]["invoice_status"]
          total: number
          updated_at: string
        }
        Insert: {
          amount_paid?: number
          client_id: string
          created_at?: string
          due_at?: string | null
          estimate_id?: string | null
          event_sequence?: number
          id?: string
          invoice_no?: string
          issued_at?: string | null
          job_id?: string | null
          org_id: string
          paid_at?: string | null
          status?: Database["public"]["Enums"]["invoice_status"]
          total: number
          updated_at?: string
        }
        Update: {
          amount_paid?: number
          client_id?: string
          created_at?: string
          due_at?: string | null
          estimate_id?: string | null
          event_sequence?: number
          id?: string
          invoice_no?: string
          issued_at?: string | null
          job_id?: string | null
          org_id?: string
          paid_at?: string | null
          status?: Database["public"]["Enums"]["invoice_status"]
          total?: number
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "invoices_client_fkey"
            columns: ["org_id", "client_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "invoices_estimate_fkey"
            columns: ["org_id", "estimate_id"]
            isOneToOne: false
            referencedRelation: "estimates"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "invoices_job_fkey"
            columns: ["org_id", "job_id"]
            isOneToOne: false
            referencedRelation: "jobs"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "invoices_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      jobs: {
        Row: {
          assigned_to: string | null
          client_id: string | null
          created_at: string
          description: string | null
          event_sequence: number
          id: string
          job_no: string
          org_id: string
          property_id: string | null
          scheduled_at: string | null
          status: Database["public"]["Enums"]["job_status"]
          title: string
          updated_at: string
        }
        Insert: {
          assigned_to?: string | null
          client_id?: string | null
          created_at?: string
          description?: string | null
          event_sequence?: number
          id?: string
          job_no?: string
          org_id: string
          property_id?: string | null
          scheduled_at?: string | null
          status?: Database["public"]["Enums"]["job_status"]
          title: string
          updated_at?: string
        }
        Update: {
          assigned_to?: string | null
          client_id?: string | null
          created_at?: string
          description?: string | null
          event_sequence?: number
          id?: string
          job_no?: string
          org_id?: string
          property_id?: string | null
          scheduled_at?: string | null
          status?: Database["public"]["Enums"]["job_status"]
          title?: string
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "jobs_assignee_fkey"
            columns: ["org_id", "assigned_to"]
            isOneToOne: false
            referencedRelation: "organization_members"
            referencedColumns: ["org_id", "user_id"]
          },
          {
            foreignKeyName: "jobs_client_fkey"
            columns: ["org_id", "client_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "jobs_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "jobs_property_fkey"
            columns: ["org_id", "property_id"]
            isOneToOne: false
            referencedRelation: "properties"
            referencedColumns: ["org_id", "id"]
          },
        ]
      }
      organization_members: {
        Row: {
          created_at: string
          org_id: string
          role: Database["public"]["Enums"]["org_role"]
          scopes: string[]
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          org_id: string
          role?: Database["public"]["Enums"]["org_role"]
          scopes?: string[]
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          org_id?: string
          role?: Database["public"]["Enums"]["org_role"]
          scopes?: string[]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "organization_members_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      organizations: {
        Row: {
          auto_geocode_properties: boolean
          created_at: string
          id: string
          name: string
          slug: string
          updated_at: string
        }
        Insert: {
          auto_geocode_properties?: boolean
          created_at?: string
          id?: string
          name: string
          slug: string
          updated_at?: string
        }
        Update: {
          auto_geocode_properties?: boolean
          created_at?: string
          id?: string
          name?: string
          slug?: string
          updated_at?: string
        }
        Relationships: []
      }
      payments: {
        Row: {
          amount: number
          created_at: string
          id: string
          invoice_id: string
          method: Database["public"]["Enums"]["payment_method"]
          org_id: string
          received_at: string
          reference: string | null
          updated_at: string
        }
        Insert: {
          amount: number
          created_at?: string
          id?: string
          invoice_id: string
          method: Database["public"]["Enums"]["payment_method"]
          org_id: string
          received_at?: string
          reference?: string | null
          updated_at?: string
        }
        Update: {
          amount?: number
          created_at?: string
          id?: string
          invoice_id?: string
          method?: Database["public"]["Enums"]["payment_method"]
          org_id?: string
          received_at?: string
          reference?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "payments_invoice_fkey"
            columns: ["org_id", "invoice_id"]
            isOneToOne: false
            referencedRelation: "invoices"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "payments_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
      properties: {
        Row: {
          address1: string
          address2: string | null
          city: string | null
          client_id: string | null
          country: string
          created_at: string
          event_sequence: number
          geocode_source: string | null
          geocoded_at: string | null
          id: string
          lat: number | null
          lng: number | null
          org_id: string
          postal_code: string | null
          region: string | null
          updated_at: string
        }
        Insert: {
          address1: string
          address2?: string | null
          city?: string | null
          client_id?: string | null
          country?: string
          created_at?: string
          event_sequence?: number
          geocode_source?: string | null
          geocoded_at?: string | null
          id?: string
          lat?: number | null
          lng?: number | null
          org_id: string
          postal_code?: string | null
          region?: string | null
          updated_at?: string
        }
        Update: {
          address1?: string
          address2?: string | null
          city?: string | null
          client_id?: string | null
          country?: string
          created_at?: string
          event_sequence?: number
          geocode_source?: string | null
          geocoded_at?: string | null
          id?: string
          lat?: number | null
          lng?: number | null
          org_id?: string
          postal_code?: string | null
          region?: string | null
          updated_at?: string
        }
        Relationships: [
          {
            foreignKeyName: "properties_client_fkey"
            columns: ["org_id", "client_id"]
            isOneToOne: false
            referencedRelation: "clients"
            referencedColumns: ["org_id", "id"]
          },
          {
            foreignKeyName: "properties_org_id_fkey"
            columns: ["org_id"]
            isOneToOne: false
            referencedRelation: "organizations"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      webhook_delivery_log: {
        Row: {
          attempt_count: number | null
          completed_at: string | null
          created_at: string | null
          delivery_id: number | null
          endpoint_id: string | null
          endpoint_url: string | null
          event_id: string | null
          event_type: string | null
          first_attempt_at: string | null
          last_attempt_at: string | null
          last_error: string | null
          last_response_status: number | null
          next_attempt_at: string | null
          org_id: string | null
          status:
            | "pending"
            | "sending"
            | "succeeded"
            | "failed"
            | "exhausted"
            | null
        }
        Relationships: []
      }
      webhook_endpoint_health: {
        Row: {
          attempts_24h: number | null
          backlog: number | null
          backlog_oldest_at: string | null
          disabled_reason: string | null
          enabled: boolean | null
          endpoint_id: string | null
          failing_since: string | null
          last_attempt_at: string | null
          last_error: string | null
          last_failure_at: string | null
          latency_p50_ms_24h: number | null
          latency_p95_ms_24h: number | null
          org_id: string | null
          success_rate_24h: number | null
          url: string | null
          wake_up_fix: string | null
          wake_up_problem: string | null
        }
        Relationships: []
      }
      webhook_events: {
        Row: {
          created_at: string | null
          event_type: string | null
          feed_position: number | null
          id: string | null
          org_id: string | null
          payload: Json | null
          resource_id: string | null
          resource_type: string | null
          sequence: number | null
        }
        Insert: {
          created_at?: string | null
          event_type?: string | null
          feed_position?: number | null
          id?: string | null
          org_id?: string | null
          payload?: Json | null
          resource_id?: string | null
          resource_type?: string | null
          sequence?: number | null
        }
        Update: {
          created_at?: string | null
          event_type?: string | null
          feed_position?: number | null
          id?: string | null
          org_id?: string | null
          payload?: Json | null
          resource_id?: string | null
          resource_type?: string | null
          sequence?: number | null
        }
        Relationships: []
      }
    }
    Functions: {
      create_organization: {
        Args: { p_name: string; p_slug: string }
        Returns: {
          auto_geocode_properties: boolean
          created_at: string
          id: string
          name: string
          slug: string
          updated_at: string
        }
        SetofOptions: {
          from: "*"
          to: "organizations"
          isOneToOne: true
          isSetofReturn: false
        }
      }
      set_auto_geocoding: {
        Args: { p_enabled: boolean; p_org_id: string }
        Returns: boolean
      }
    }
    Enums: {
      estimate_status: "draft" | "sent" | "accepted" | "declined"
      inspection_status: "draft" | "submitted"
      invoice_status: "draft" | "open" | "paid" | "void"
      job_status:
        | "new"
        | "scheduled"
        | "in_progress"
        | "completed"
        | "cancelled"
      org_role: "owner" | "admin" | "member" | "integration"
      payment_method: "card" | "ach" | "cash" | "check" | "other"
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
      estimate_status: ["draft", "sent", "accepted", "declined"],
      inspection_status: ["draft", "submitted"],
      invoice_status: ["draft", "open", "paid", "void"],
      job_status: ["new", "scheduled", "in_progress", "completed", "cancelled"],
      org_role: ["owner", "admin", "member", "integration"],
      payment_method: ["card", "ach", "cash", "check", "other"],
    },
  },
} as const

