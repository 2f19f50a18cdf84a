// Integration service accounts: the scope catalog. (The key exchange and token minting land with
// the service accounts migration.)
import { z } from "npm:zod@4.6.7";

export const SERVICE_ACCOUNT_SCOPES = [
  "jobs:read",
  "jobs:write",
  "clients:read",
  "clients:write",
  "properties:read",
  "properties:write",
  "estimates:read",
  "estimates:write",
  "invoices:read",
  "invoices:write",
  "payments:read",
  "payments:write",
  "inspections:read",
  "inspections:write",
] as const;

export const ServiceAccountScope = z.enum(SERVICE_ACCOUNT_SCOPES);
