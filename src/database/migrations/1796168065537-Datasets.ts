import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Versioned datasets (module `datasets/`). Items are kept per version in upload order
 * (`position` 0, 1, … without gaps, so a page is a range scan) with a unique `item_key`.
 */
export class Datasets1796168065537 implements MigrationInterface {
  name = 'Datasets1796168065537';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "datasets" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "project_id" uuid NOT NULL, "name" character varying(200) NOT NULL, "description" text, "latest_version" integer, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_datasets" PRIMARY KEY ("id"), CONSTRAINT "uq_datasets_project_name" UNIQUE ("project_id", "name"), CONSTRAINT "fk_datasets_project" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(
      `CREATE TABLE "dataset_versions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "dataset_id" uuid NOT NULL, "version" integer NOT NULL, "item_count" integer NOT NULL, "content_hash" character(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "pk_dataset_versions" PRIMARY KEY ("id"), CONSTRAINT "uq_dataset_versions_dataset_version" UNIQUE ("dataset_id", "version"), CONSTRAINT "fk_dataset_versions_dataset" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE CASCADE)`,
    );
    await queryRunner.query(
      `CREATE TABLE "dataset_items" ("version_id" uuid NOT NULL, "position" integer NOT NULL, "item_key" text NOT NULL, "data" jsonb NOT NULL, CONSTRAINT "pk_dataset_items" PRIMARY KEY ("version_id", "position"), CONSTRAINT "uq_dataset_items_version_key" UNIQUE ("version_id", "item_key"), CONSTRAINT "fk_dataset_items_version" FOREIGN KEY ("version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE)`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "dataset_items"`);
    await queryRunner.query(`DROP TABLE "dataset_versions"`);
    await queryRunner.query(`DROP TABLE "datasets"`);
  }
}
