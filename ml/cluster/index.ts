export { StandardScaler, l2NormalizeRows, type StandardScalerState } from './scaler.ts';
export { Pca, type PcaOptions, type PcaState } from './pca.ts';
export { KMeans, type KMeansFit, type KMeansOptions, type KMeansState } from './kmeans.ts';
export { normalizedMutualInformation } from './nmi.ts';
export { symmetricEigen, eigenJacobi, type SymmetricEigen } from './eigh.ts';
export { assignFeatures, clusterFeatures, type ClusterFeaturesOptions, type ClusterFeaturesResult } from './pipeline.ts';
export { clusterFeaturesInChunks, type ChunkedClusterResult, type FeatureBlock, type FeatureSource } from './chunked.ts';
export { batchedFeatureSource, type BatchedSourceOptions, type KeyedRows } from './feature-source.ts';
