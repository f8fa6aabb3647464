"""The citizen's own copy of their record (EHDS article 7): one archive, built asynchronously."""
