ALTER TABLE `users` ADD `name_folded` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Backfill: SQLite's lower() folds ASCII only; the app writes the Unicode-aware fold from now on
-- (register and every profile update), so accounts renamed later are folded fully.
UPDATE `users` SET `name_folded` = lower(`name`);
