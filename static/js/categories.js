// Categories: the list is rendered by the server and filtered by common.js; this
// page has no other behaviour yet (the API has no category edits).
'use strict';
