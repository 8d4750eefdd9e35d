ALTER TABLE `sessions` ADD `aal` text DEFAULT 'aal1' NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `amr` text DEFAULT '[]' NOT NULL;