ALTER TABLE `runs` ADD `model` text;
