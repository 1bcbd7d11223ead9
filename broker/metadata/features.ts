/**
 * The feature levels of the cluster (KIP-584): what this broker supports, and what a new cluster finalizes
 * at its bootstrap as FeatureLevelRecords in `__cluster_metadata`, as Kafka's `kafka-storage format` does.
 * ApiVersions reports both, so `kafka-features describe` shows them.
 *
 * Only features whose behaviour Samsa has are claimed: `metadata.version` (the record formats it writes are
 * Kafka 4.x's), `kraft.version` 0 (a static voter set, `controller.quorum.voters`) and `group.version` 1 (the
 * KIP-848 consumer group protocol). Transactions v2, share groups, streams groups and ELR are not served, so
 * they are neither supported nor finalized.
 *
 * @module
 */
import type { MetadataImage, MetadataRecord } from "../metadata_image.ts";

/** A feature's supported range. */
export interface SupportedFeature {
  name: string;
  minVersion: number;
  maxVersion: number;
}

/** `metadata.version` 7 is 3.3-IV3 (the oldest KRaft level Kafka 4 accepts); 30 is 4.3-IV0. */
export const METADATA_VERSION = { min: 7, latest: 30 } as const;

/** The features this broker supports, by name. */
export const SUPPORTED_FEATURES: readonly SupportedFeature[] = [
  { name: "group.version", minVersion: 0, maxVersion: 1 },
  { name: "kraft.version", minVersion: 0, maxVersion: 0 },
  { name: "metadata.version", minVersion: METADATA_VERSION.min, maxVersion: METADATA_VERSION.latest },
];

/** The levels a new cluster finalizes. A level of 0 is not recorded (Kafka writes no record for it). */
export const BOOTSTRAP_FEATURE_LEVELS: ReadonlyMap<string, number> = new Map([
  ["metadata.version", METADATA_VERSION.latest],
  ["group.version", 1],
]);

/**
 * The FeatureLevelRecords a cluster still needs at its bootstrap: those of `BOOTSTRAP_FEATURE_LEVELS` the image
 * has no level for (none once written, so it is safe to call on every start and by every new controller).
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { bootstrapFeatureRecords } from "./features.ts";
 * bootstrapFeatureRecords(new MetadataImage()).map((r) => r.record); // metadata.version 30, group.version 1
 * ```
 */
export function bootstrapFeatureRecords(image: MetadataImage): MetadataRecord[] {
  const features = image.features();
  const out: MetadataRecord[] = [];
  for (const [name, featureLevel] of BOOTSTRAP_FEATURE_LEVELS) {
    if (!features.has(name)) out.push({ type: "feature_level", record: { name, featureLevel } });
  }
  return out;
}

/**
 * The finalized features as ApiVersions carries them (level 0 is left out, as in Kafka), by name.
 *
 * @example
 * ```ts
 * import { MetadataImage } from "../metadata_image.ts";
 * import { finalizedFeatures } from "./features.ts";
 * const image = new MetadataImage();
 * image.apply({ type: "feature_level", record: { name: "metadata.version", featureLevel: 30 } });
 * finalizedFeatures(image); // [{ name: "metadata.version", minVersionLevel: 30, maxVersionLevel: 30 }]
 * ```
 */
export function finalizedFeatures(
  image: MetadataImage,
): { name: string; minVersionLevel: number; maxVersionLevel: number }[] {
  return [...image.features()]
    .filter(([, level]) => level > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, level]) => ({ name, minVersionLevel: level, maxVersionLevel: level }));
}
