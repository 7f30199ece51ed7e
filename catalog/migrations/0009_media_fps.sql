-- Migration 0009: the frame rate a profile's per_media_s was measured or derived at, for
-- agents that decode every frame of what they read (scene detection, whole-scene frame
-- decoding): their time per media second scales with the video's frame rate, so a call
-- takes per_item_s + per_media_s x media seconds x fps / media_fps. NULL: it does not.
ALTER TABLE profiles ADD COLUMN media_fps DOUBLE;
-- The seed's rows in catalogs seeded before this migration (as catalog/seed/profiles.csv).
UPDATE profiles SET media_fps = 30
 WHERE agent IN ('pyscenedetect-histogram', 'pyscenedetect-content', 'pyscenedetect-adaptive', 'transnetv2',
                 'pyav-decode', 'nvdec-decode')
   AND source LIKE 'derived:per_media_s%video_fps 30%';
UPDATE profiles SET media_fps = 30
 WHERE agent = 'opencv-frames' AND source LIKE 'measured:vm, 2026-11-22 (murakkab catalog profile opencv-frames%';
UPDATE profiles SET media_fps = 24
 WHERE agent IN ('opencv-content-scenes', 'opencv-histogram-scenes')
   AND source LIKE 'measured:vm, 2026-11-22 (runtime/agents on samples/*.mp4, 480x270 24 fps%';
