import S3Core
