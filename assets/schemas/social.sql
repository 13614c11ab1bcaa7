-- A social network (MySQL flavour).
-- Exercises: backticks, ENUM and SET columns, a self-referencing FK (post.reply_to), two FKs
-- to the same parent forming a unique pair (friendship), an FK cycle where both sides are
-- NOT NULL (user.home_group_id <-> user_group.owner_id), a UNIQUE KEY that makes an FK 1:1
-- (user_settings.user_id), TINYINT UNSIGNED, DATETIME ... ON UPDATE, ENGINE options.
SET NAMES utf8mb4;
SET FOREIGN_KEY_CHECKS = 0;

CREATE TABLE `user` (
  `user_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `handle` VARCHAR(30) NOT NULL,
  `status` ENUM('active', 'suspended', 'deleted') NOT NULL DEFAULT 'active',
  `home_group_id` INT UNSIGNED NOT NULL,
  `joined_at` DATETIME NOT NULL,
  PRIMARY KEY (`user_id`),
  UNIQUE KEY `uk_handle` (`handle`),
  KEY `idx_home_group` (`home_group_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `user_group` (
  `group_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `owner_id` INT UNSIGNED NOT NULL,
  `visibility` ENUM('public', 'private') NOT NULL,
  PRIMARY KEY (`group_id`),
  CONSTRAINT `fk_group_owner` FOREIGN KEY (`owner_id`) REFERENCES `user` (`user_id`)
) ENGINE=InnoDB;

CREATE TABLE `user_settings` (
  `settings_id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `user_id` INT UNSIGNED NOT NULL,
  `dark_mode` BOOLEAN NOT NULL DEFAULT FALSE,
  `font_size` TINYINT UNSIGNED,
  PRIMARY KEY (`settings_id`),
  UNIQUE KEY `uk_settings_user` (`user_id`),
  CONSTRAINT `fk_settings_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`user_id`)
) ENGINE=InnoDB;

CREATE TABLE `friendship` (
  `user_a` INT UNSIGNED NOT NULL,
  `user_b` INT UNSIGNED NOT NULL,
  `since` DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`user_a`, `user_b`),
  CONSTRAINT `fk_friend_a` FOREIGN KEY (`user_a`) REFERENCES `user` (`user_id`),
  CONSTRAINT `fk_friend_b` FOREIGN KEY (`user_b`) REFERENCES `user` (`user_id`)
) ENGINE=InnoDB;

CREATE TABLE `post` (
  `post_id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `author_id` INT UNSIGNED NOT NULL,
  `reply_to` BIGINT UNSIGNED NULL,
  `posted_at` DATETIME NOT NULL,
  `tags` SET('news', 'meme', 'question', 'event'),
  `likes` INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (`post_id`),
  CONSTRAINT `fk_post_author` FOREIGN KEY (`author_id`) REFERENCES `user` (`user_id`),
  CONSTRAINT `fk_post_reply` FOREIGN KEY (`reply_to`) REFERENCES `post` (`post_id`)
) ENGINE=InnoDB;

ALTER TABLE `user` ADD CONSTRAINT `fk_user_home_group` FOREIGN KEY (`home_group_id`) REFERENCES `user_group` (`group_id`);

SET FOREIGN_KEY_CHECKS = 1;
