CREATE TABLE `otp_failures` (
	`id` text PRIMARY KEY NOT NULL,
	`email_key` text NOT NULL,
	`purpose` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `otp_failures_key_idx` ON `otp_failures` (`email_key`,`purpose`,`at`);--> statement-breakpoint
ALTER TABLE `refresh_tokens` ADD `rotated_by` text;--> statement-breakpoint
ALTER TABLE `users` ADD `role_source` text;--> statement-breakpoint
ALTER TABLE `users` ADD `banned_reason` text;--> statement-breakpoint
ALTER TABLE `users` ADD `banned_at` integer;--> statement-breakpoint
ALTER TABLE `users` ADD `banned_until` integer;