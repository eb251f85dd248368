#!/usr/bin/env python3
"""Refreshes api/openapi.json: keeps paths, summaries and request bodies, adds
operationIds, parameters, shared errors, servers, and response schemas inferred from
the sampled responses of the test suite (KIRIM_OPENAPI_SAMPLES)."""
import json, re, sys, collections
DOC = sys.argv[1]; SAMPLES = sys.argv[2]
doc = json.load(open(DOC))
comp = doc.setdefault('components', {})
schemas = comp.setdefault('schemas', {})
MAPS = {'counts', 'skipped', 'free_credits', 'credits', 'held_credits', 'written_bytes', 'session', 'by_category', 'volume'}
RFC3339 = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$')

def kind(v):
    if isinstance(v, bool): return 'boolean'
    if isinstance(v, int): return 'integer'
    if isinstance(v, float): return 'number'
    if isinstance(v, str): return 'string'
    if isinstance(v, list): return 'array'
    if isinstance(v, dict): return 'object'
    return 'null'

POOL_BY_NAME = collections.defaultdict(list)  # property name -> every object value seen under it

def collect(v, name=''):
    if isinstance(v, dict):
        if name and name not in MAPS: POOL_BY_NAME[name].append(v)
        for k, x in v.items(): collect(x, k if name not in MAPS else name + '.')
    elif isinstance(v, list):
        for x in v: collect(x, name)

ALWAYS = {'id', 'data', 'error', 'code', 'message', 'amount_micros', 'currency', 'display'}

POOLED = {}      # property name -> component name
BUILDING = set()
RESERVED = {'Campaign', 'Message', 'InboundMessage', 'Accepted', 'Template', 'TopUp', 'List', 'Balance', 'Contact', 'Error', 'Money',
            'TemplateDefinition', 'SendRequest'}

def component_name(name):
    n = ''.join(p.title() for p in re.split(r'[_.\-]', name) if p)
    return n + 'Fields' if n in RESERVED or not n else n

# Names too generic to mean one shape wherever they appear: inferred where they are.
NOPOOL = {'data', 'value', 'body', 'items', 'errors', 'example', 'components', 'header', 'buttons', 'params', 'vars',
          'change', 'metadata', 'contacts', 'numbers', 'warnings', 'violations', 'prices', 'bands', 'deleted', 'error'}

# Fields whose samples cannot show every type they take.
NAMED = {'messaging_limit': {'anyOf': [{'type': 'integer'}, {'type': 'string', 'enum': ['unlimited']}]},
         'next_limit': {'anyOf': [{'type': 'integer'}, {'type': 'string', 'enum': ['unlimited']}], 'nullable': True}}
# Fractions that may happen to be whole in the samples.
FRACTIONS = {'pair_gap_seconds', 'progress', 'rate_per_second', 'rate', 'read_rate', 'fail_rate', 'ratio'}

def infer(vals, name='', top=False):
    if name in NAMED and not top:
        return dict(NAMED[name])
    if name in FRACTIONS and vals and all(kind(v) in ('integer', 'number') for v in vals if v is not None):
        return {'type': 'number', 'nullable': True} if None in vals else {'type': 'number'}
    if name and name not in MAPS and name not in NOPOOL and not top:
        pooled = POOL_BY_NAME.get(name)
        if pooled and all(isinstance(v, dict) or v is None for v in vals):
            nullable = any(v is None for v in vals)
            if name not in POOLED and name not in BUILDING:
                BUILDING.add(name)
                sch = infer(pooled, name, top=True)
                BUILDING.discard(name)
                if sch.get('type') == 'object' and 'properties' in sch and sch['properties'] == {'amount_micros': sch['properties'].get('amount_micros'), 'currency': sch['properties'].get('currency'), 'display': sch['properties'].get('display')}:
                    POOLED[name] = 'Money'
                else:
                    POOLED[name] = component_name(name)
                    schemas[POOLED[name]] = sch
            if name in POOLED:
                ref = {'$ref': '#/components/schemas/' + POOLED[name]}
                return {'type': 'object', 'allOf': [ref], 'nullable': True} if nullable else ref
            vals = [v for v in vals if v is None] + pooled
    nonnull = [v for v in vals if v is not None]
    nullable = len(nonnull) < len(vals)
    if not nonnull:
        # Only ever null in the samples: times and texts not set yet, as a rule.
        return {'type': 'string', 'nullable': True}
    kinds = {kind(v) for v in nonnull}
    if kinds == {'integer', 'number'}:
        kinds = {'number'}
    if len(kinds) > 1:
        subs = [infer([v for v in nonnull if kind(v) == k or {kind(v), k} <= {'integer', 'number'}], name) for k in sorted(kinds)]
        if nullable:
            subs = [dict(x, nullable=True) if 'type' in x else x for x in subs]
        return {'anyOf': subs}
    else:
        k = kinds.pop()
        if k == 'object':
            if name in MAPS:
                inner = [x for v in nonnull for x in v.values()]
                s = {'type': 'object', 'additionalProperties': infer(inner, name + '.') if inner else {}}
            else:
                keys = []
                for v in nonnull:
                    for key in v:
                        if key not in keys: keys.append(key)
                props = {key: infer([v[key] for v in nonnull if key in v], key) for key in keys}
                s = {'type': 'object', 'properties': props, 'additionalProperties': False}
                req = [key for key in keys if key in ALWAYS and all(key in v for v in nonnull)]
                if req: s['required'] = req
                for key, ps in list(props.items()):
                    if key in req or 'nullable' in ps: continue
                    if '$ref' in ps:
                        props[key] = {'type': 'object', 'allOf': [ps], 'nullable': True}
                    elif 'type' in ps:
                        props[key] = dict(ps, nullable=True)
        elif k == 'array':
            items = [x for v in nonnull for x in v]
            s = {'type': 'array', 'items': infer(items, name) if items else {}}
        elif k == 'string':
            s = {'type': 'string'}
            if all(RFC3339.match(v) for v in nonnull): s['format'] = 'date-time'
        else:
            s = {'type': k}
    if nullable: s['nullable'] = True
    return s

# Fields the samples may miss: answers that are Go structs with omitempty fields, which
# the suite does not always fill. A synthetic sample adds each to the inference.
SUPPLEMENT = {('get', '/v1/campaigns/{id}/runs', 200): {'data': [{
    'campaign': 'cmp_x', 'seq': 1, 'at': '2026-01-01T00:00:00Z', 'trigger': 'launch', 'state': 'running', 'reason': 'x',
    'resolved': True, 'total': 1, 'skipped': {'opted_out': 1}, 'cursor': '+62', 'exhausted': True, 'requeued': 1,
    'fail_base': 1, 'settled_base': 1, 'quoted': 1, 'reserved': 1, 'currency': 'IDR', 'reserve_id': 'rsv_x',
    'started_at': '2026-01-01T00:00:00Z', 'finished_at': '2026-01-01T00:00:00Z'}]},
    # Every field an inbound message may carry (the suite sends a few kinds only).
    ('get', '/v1/contacts/{phone}/messages', 200): {'data': [{
    'id': 'inb_x', 'direction': 'inbound', 'from': '+62', 'to': 'main', 'wamid': 'wamid.x', 'type': 'image', 'text': 'x',
    'media': {'id': '1', 'mime_type': 'image/png', 'sha256': 'x', 'caption': 'x', 'filename': 'x', 'url': '/v1/media/1'},
    'location': {'latitude': -6.5, 'longitude': 106.5, 'name': 'x', 'address': 'x'},
    'contacts': [{'name': {'formatted_name': 'x', 'first_name': 'x', 'last_name': 'x', 'middle_name': 'x', 'prefix': 'x', 'suffix': 'x'}, 'phones': [{'phone': '+62', 'type': 'CELL', 'wa_id': '62'}],
                  'emails': [{'email': 'x', 'type': 'WORK'}], 'org': {'company': 'x', 'department': 'x', 'title': 'x'}, 'birthday': '2000-01-01',
                  'addresses': [{'street': 'x', 'city': 'x', 'state': 'x', 'zip': 'x', 'country': 'x', 'country_code': 'x', 'type': 'HOME'}],
                  'urls': [{'url': 'x', 'type': 'WORK'}]}],
    'reaction': {'message_id': 'msg_x', 'wamid': 'wamid.x', 'emoji': 'x'},
    'interactive': {'type': 'nfm_reply', 'id': 'x', 'title': 'x', 'response_json': '{}'},
    'context': {'message_id': 'msg_x', 'wamid': 'wamid.x'}, 'name': 'x', 'at': '2026-01-01T00:00:00.000Z'}], 'next_cursor': ''},
    # A retry that queued messages failed by the unknown policy after a crash warns of
    # duplicates; a run with unknown messages says when they settle.
    ('post', '/v1/campaigns/{id}/retry', 200): {'requeued': 2, 'unconfirmed': 1, 'warning': 'x'},
    # A campaign's message names its campaign.
    ('get', '/v1/messages/{id}', 200): {'id': 'msg_x', 'status': 'failed', 'campaign_id': 'cmp_x'},
    # A recipient whose message failed, or waits after an error, carries it.
    ('get', '/v1/campaigns/{id}/recipients', 200): {'data': [{'phone': '+62', 'name': 'x', 'status': 'failed', 'message_id': 'msg_x',
        'error': {'code': -1, 'title': 'x', 'detail': 'x', 'class': 'unknown'},
        'charged': {'amount_micros': 0, 'currency': 'IDR', 'display': 'IDR 0'}}], 'next_cursor': ''},
    ('get', '/v1/campaigns/{id}', 200): {'id': 'cmp_x', 'progress': {'unknown': 1, 'unknown_settle_at': '2026-01-01T00:00:00Z'}}}

samples = collections.defaultdict(list)
for op, body in SUPPLEMENT.items():
    samples[op].append({'method': op[0].upper(), 'path': op[1], 'status': op[2], 'content_type': 'application/json', 'body': json.dumps(body)})
    collect(body)
for line in open(SAMPLES):
    x = json.loads(line)
    samples[(x['method'].lower(), x['path'], x['status'])].append(x)
    if 'json' in (x['content_type'] or '') and x['path'] != '/v1/openapi.json' and x['status'] < 400:
        try: collect(json.loads(x['body']))
        except ValueError: pass

# Operations whose answers are one resource, named: their schemas pool every sample.
SHAPES = {'Campaign': [('post', '/v1/campaigns', 201), ('get', '/v1/campaigns/{id}', 200), ('post', '/v1/campaigns/{id}/launch', 200),
                       ('post', '/v1/campaigns/{id}/pause', 200), ('post', '/v1/campaigns/{id}/resume', 200), ('post', '/v1/campaigns/{id}/cancel', 200),
                       ('get', '/v1/campaigns', 200, 'data')],
          'Message': [('get', '/v1/messages/{id}', 200), ('post', '/v1/messages/{id}/cancel', 200), ('post', '/v1/messages/{id}/resolve', 200), ('get', '/v1/messages', 200, 'data'),
                      ('get', '/v1/contacts/{phone}/messages', 200, 'data')],
          'InboundMessage': [('get', '/v1/messages', 200, 'data'), ('get', '/v1/contacts/{phone}/messages', 200, 'data')],
          'Accepted': [('post', '/v1/messages', 202)],
          'Template': [('post', '/v1/templates', 201), ('get', '/v1/templates/{name}', 200), ('post', '/v1/templates/{name}/clone', 201),
                       ('get', '/v1/templates', 200, 'data')],
          'TopUp': [('post', '/v1/topups', 201), ('post', '/v1/topups', 200), ('post', '/v1/topups/{id}/confirm', 200),
                    ('post', '/v1/topups/{id}/reject', 200), ('get', '/v1/topups', 200, 'data')],
          'List': [('get', '/v1/lists/{id}', 200), ('get', '/v1/lists', 200, 'data')],
          'Balance': [('get', '/v1/balance', 200)],
          'Contact': [('get', '/v1/contacts/{phone}', 200), ('post', '/v1/contacts/{phone}/opt-out', 200), ('post', '/v1/contacts/{phone}/opt-in', 200)]}
shape_of = {}
# Listings whose items are messages of either direction.
MIXED = {('get', '/v1/messages', 200, 'data'), ('get', '/v1/contacts/{phone}/messages', 200, 'data')}
for name, ops in SHAPES.items():
    vals = []
    for op in ops:
        for x in samples.get(op[:3], []):
            if 'json' not in (x['content_type'] or ''): continue
            v = json.loads(x['body'])
            if len(op) == 4:
                # Listings of both directions: inbound items make InboundMessage, the
                # others Message.
                vals += [x for x in v.get(op[3], []) or [] if (x.get('direction') == 'inbound') == (name == 'InboundMessage')]
            else:
                vals.append(v)
            shape_of[op] = name
    if vals:
        sch = infer(vals, top=True)
        schemas[name] = sch


ERR = {400: ('BadRequest', 'Malformed or invalid input: invalid_json, invalid_field, invalid_phone, invalid_cursor, ...'),
       401: ('Unauthorized', 'Missing or wrong API key (unauthorized).'),
       402: ('PaymentRequired', 'The balance does not cover it (insufficient_balance).'),
       403: ('Forbidden', 'The key lacks the scope (forbidden).'),
       404: ('NotFound', 'No such resource, or the feature is off (not_found).'),
       408: ('RequestTimeout', 'The body did not arrive within server.read_timeout (read_timeout).'),
       409: ('Conflict', 'Idempotency key reused with another body, or a state change not allowed.'),
       413: ('PayloadTooLarge', 'The body is over the limit (body_too_large).'),
       415: ('UnsupportedMediaType', 'A body that is not application/json (unsupported_media_type).'),
       422: ('UnprocessableEntity', 'A rule refuses it: template_not_approved, param_count_mismatch, outside_window, opted_out, template_invalid, ...'),
       500: ('InternalError', 'An internal error (internal); the log has the request id.'),
       502: ('BadGateway', 'The provider refused or could not take a call (provider_error, provider_unavailable), or a media file is over 100 MiB (media_too_large).'),
       503: ('ServiceUnavailable', 'Shutting down, busy reading other bodies (service_busy), or not ready; see Retry-After.')}
schemas['Error'] = {'type': 'object', 'required': ['error'], 'additionalProperties': False, 'properties': {'error': {
    'type': 'object', 'required': ['code', 'message'], 'additionalProperties': True,
    'description': 'Every error has this envelope; some codes add fields (violations, template_status, provider_code, ...).',
    'properties': {'code': {'type': 'string', 'description': 'Stable machine code.'},
                   'message': {'type': 'string'},
                   'field': {'type': 'string', 'description': 'The request field at fault, when there is one.'},
                   'request_id': {'type': 'string', 'description': 'The X-Request-Id of the request.'}}}}}
retry = {'Retry-After': {'description': 'Seconds to wait before retrying.', 'schema': {'type': 'integer'}}}
reqid = {'X-Request-Id': {'description': "The request's id (the client's, or one Kirim made).", 'schema': {'type': 'string'}}}
responses = comp.setdefault('responses', {})
for name in ('MethodNotAllowed', 'TooManyRequests'):
    responses.pop(name, None)
for code, (name, desc) in ERR.items():
    r = {'description': desc, 'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}}}
    if code == 503: r['headers'] = dict(retry)
    responses[name] = r
comp['securitySchemes'] = {'bearer': {'type': 'http', 'scheme': 'bearer', 'description': 'An API key: Authorization: Bearer <key>.'},
                           'metricsToken': {'type': 'http', 'scheme': 'bearer', 'description': 'server.metrics_token, when set.'}}
doc['servers'] = [{'url': 'http://127.0.0.1:8080', 'description': 'kirim serve with config.example.toml'}]
doc['info']['license'] = {'name': 'Proprietary'}
doc['info']['description'] = ('Self-hosted WhatsApp Business proactive messaging. Auth: Authorization: Bearer <api key>. '
    'Every answer carries X-Request-Id (the client\'s, when printable ASCII of at most 128 characters, else one Kirim makes); '
    'every error has the envelope {"error": {"code", "message", "field", "request_id"}}.')
doc['info']['contact'] = {'name': 'Kirim operators'}

def opid(method, path):
    words = [w for w in path.split('/') if w and w not in ('v1',)]
    out = [method]
    for w in words:
        if w.startswith('{'):
            out.append('by' + w[1:-1].title().replace('_', ''))
        else:
            out.append(''.join(p.title() for p in re.split(r'[-_.]', w)))
    return out[0] + ''.join(out[1:])

NAMES = {('post', '/v1/messages'): 'sendMessage', ('get', '/v1/messages'): 'listMessages', ('get', '/v1/messages/{id}'): 'getMessage',
         ('post', '/v1/messages/{id}/cancel'): 'cancelMessage', ('post', '/v1/messages/{id}/resolve'): 'resolveMessage', ('get', '/v1/numbers'): 'listNumbers', ('post', '/v1/numbers/{alias}/resume-marketing'): 'resumeNumberMarketing', ('get', '/v1/contacts/{phone}'): 'getContact',
         ('post', '/v1/contacts/{phone}/opt-out'): 'optOutContact', ('post', '/v1/contacts/{phone}/opt-in'): 'optInContact',
         ('get', '/v1/webhooks/dead'): 'listDeadLetters', ('post', '/v1/webhooks/dead/{id}/replay'): 'replayDeadLetter',
         ('post', '/v1/templates'): 'createTemplate', ('get', '/v1/templates'): 'listTemplates', ('post', '/v1/templates/lint'): 'lintTemplate',
         ('post', '/v1/templates/sync'): 'syncTemplates', ('get', '/v1/templates/{name}'): 'getTemplate', ('delete', '/v1/templates/{name}'): 'deleteTemplate',
         ('post', '/v1/templates/{name}/clone'): 'cloneTemplate', ('get', '/v1/balance'): 'getBalance', ('get', '/v1/statement'): 'getStatement',
         ('get', '/v1/rates'): 'getRates', ('get', '/v1/topups'): 'listTopUps', ('post', '/v1/topups'): 'createTopUp',
         ('post', '/v1/topups/{id}/confirm'): 'confirmTopUp', ('post', '/v1/topups/{id}/reject'): 'rejectTopUp', ('post', '/v1/adjustments'): 'createAdjustment',
         ('get', '/v1/admin/ledger/verify'): 'verifyLedger', ('get', '/v1/admin/backup'): 'getBackup', ('get', '/v1/admin/storage'): 'getStorageStats',
         ('get', '/v1/campaigns'): 'listCampaigns', ('post', '/v1/campaigns'): 'createCampaign', ('get', '/v1/campaigns/{id}'): 'getCampaign',
         ('get', '/v1/campaigns/{id}/runs'): 'listCampaignRuns', ('get', '/v1/campaigns/{id}/recipients'): 'listCampaignRecipients',
         ('post', '/v1/campaigns/{id}/quote'): 'quoteCampaign', ('post', '/v1/campaigns/{id}/launch'): 'launchCampaign',
         ('post', '/v1/campaigns/{id}/pause'): 'pauseCampaign', ('post', '/v1/campaigns/{id}/resume'): 'resumeCampaign',
         ('post', '/v1/campaigns/{id}/cancel'): 'cancelCampaign', ('post', '/v1/campaigns/{id}/retry'): 'retryCampaign',
         ('post', '/v1/lists'): 'importList', ('get', '/v1/lists'): 'listLists', ('get', '/v1/lists/{id}'): 'getList', ('delete', '/v1/lists/{id}'): 'deleteList',
         ('get', '/v1/lists/{id}/contacts'): 'listListContacts', ('get', '/v1/imports/{id}'): 'getImport', ('get', '/v1/openapi.json'): 'getOpenAPI',
         ('get', '/webhook'): 'verifyWebhook', ('post', '/webhook'): 'receiveWebhook', ('get', '/healthz'): 'health', ('get', '/readyz'): 'ready',
         ('get', '/metrics'): 'getMetrics',
         ('get', '/v1/contacts/{phone}/messages'): 'getConversation', ('get', '/v1/media/{id}'): 'getMedia'}
TAGS = [('/v1/messages', 'messages'), ('/v1/media', 'messages'), ('/v1/numbers', 'numbers'), ('/v1/contacts', 'contacts'), ('/v1/webhooks', 'webhooks'), ('/v1/templates', 'templates'),
        ('/v1/balance', 'money'), ('/v1/statement', 'money'), ('/v1/rates', 'money'), ('/v1/topups', 'money'), ('/v1/adjustments', 'money'),
        ('/v1/admin', 'admin'), ('/v1/campaigns', 'campaigns'), ('/v1/lists', 'lists'), ('/v1/imports', 'lists'), ('/webhook', 'webhooks'),
        ('/healthz', 'operations'), ('/readyz', 'operations'), ('/metrics', 'operations'), ('/v1/openapi.json', 'operations'),
        ('/v1/callbacks', 'callbacks'), ('/v1/accounts', 'tenancy'), ('/v1/keys', 'tenancy'), ('/v1/audit', 'tenancy'), ('/v1/export', 'tenancy'), ('/v1/users', 'tenancy')]
doc['tags'] = [{'name': t, 'description': d} for t, d in [('messages', 'Send and follow messages'), ('numbers', 'The configured numbers'),
    ('contacts', 'Windows and opt-outs'), ('webhooks', 'The provider webhook receiver and its dead letters'), ('templates', 'Templates and the linter'),
    ('money', 'Balance, statement, rates, top-ups'), ('admin', 'Instance administration'), ('campaigns', 'Broadcast campaigns'),
    ('lists', 'Contact lists and imports'), ('operations', 'Health, readiness, metrics, this document'),
    ('tenancy', 'Accounts, keys, the audit log and exports'), ('callbacks', 'Events to your systems: endpoints and deliveries')]]
LISTS = {'/v1/messages', '/v1/contacts/{phone}/messages', '/v1/templates', '/v1/webhooks/dead', '/v1/statement', '/v1/topups', '/v1/campaigns', '/v1/lists',
         '/v1/lists/{id}/contacts', '/v1/campaigns/{id}/recipients', '/v1/audit', '/v1/callbacks/deliveries'}
QUERY = {('get', '/v1/messages'): ['direction', 'from', 'status', 'to', 'campaign_id'], ('get', '/v1/templates'): ['status', 'category'],
         ('get', '/v1/templates/{name}'): ['language'], ('delete', '/v1/templates/{name}'): ['language'],
         ('get', '/v1/statement'): ['from', 'to'], ('get', '/v1/campaigns/{id}/recipients'): ['status'],
         ('get', '/v1/audit'): ['action', 'from', 'to']}

for path, ops in doc['paths'].items():
    for method, op in ops.items():
        op['operationId'] = NAMES.get((method, path)) or opid(method, path)
        op['tags'] = [next(t for p, t in TAGS if path.startswith(p))]
        params = {p['name']: p for p in op.get('parameters', []) if 'name' in p}
        for name in re.findall(r'{(\w+)}', path):
            params.setdefault(name, {'name': name, 'in': 'path', 'required': True, 'schema': {'type': 'string'}})
        if method == 'get' and path in LISTS:
            params.setdefault('limit', {'name': 'limit', 'in': 'query', 'schema': {'type': 'integer', 'minimum': 1}, 'description': 'Page size.'})
            params.setdefault('cursor', {'name': 'cursor', 'in': 'query', 'schema': {'type': 'string'}, 'description': 'next_cursor of the previous page.'})
        for q in QUERY.get((method, path), []):
            params.setdefault(q, {'name': q, 'in': 'query', 'schema': {'type': 'string'}})
        if path == '/webhook' and method == 'post':
            params.setdefault('X-Hub-Signature-256', {'name': 'X-Hub-Signature-256', 'in': 'header', 'required': True,
                'schema': {'type': 'string', 'pattern': '^sha256=[0-9a-fA-F]{64}$'}, 'description': 'HMAC-SHA256 of the raw body with the app secret.'})
            op['requestBody'] = {'required': True, 'content': {'application/json': {'schema': {'type': 'object', 'required': ['object', 'entry'],
                'description': "Meta's notification: {object: whatsapp_business_account, entry: [{id, changes: [{field, value}]}]}.",
                'properties': {'object': {'type': 'string'}, 'entry': {'type': 'array', 'items': {'type': 'object'}}}}}}}
        if path == '/webhook' and method == 'get':
            for q in ('hub.mode', 'hub.verify_token', 'hub.challenge'):
                params.setdefault(q, {'name': q, 'in': 'query', 'required': True, 'schema': {'type': 'string'}})
        public = path in ('/healthz', '/readyz', '/v1/openapi.json', '/webhook', '/metrics')
        if not public:
            params.setdefault('account', {'name': 'account', 'in': 'query', 'schema': {'type': 'string'},
                'description': 'The account an operator key acts on (required on account routes for an operator key); another key may only name its own.'})
        if params: op['parameters'] = list(params.values())
        if public:
            op['security'] = [] if path != '/metrics' else [{}, {'metricsToken': []}]
        resp = {}
        seen = sorted({s for (m, p, s) in samples if m == method and p == path})
        statuses = set(seen)
        if not public:
            statuses |= {401, 403, 500, 503}
            if '{' in path: statuses.add(404)
            if method in ('post', 'put', 'patch', 'delete'): statuses |= {400, 409, 413, 415}
            if method == 'get' and path in LISTS: statuses.add(400)
            if path == '/v1/media/{id}': statuses |= {502}
        if path == '/webhook' and method == 'post': statuses |= {401, 408, 413, 503}
        if path == '/webhook' and method == 'get': statuses |= {403}
        old = op.get('responses', {})
        for st in sorted(statuses):
            if st >= 400:
                resp[str(st)] = {'$ref': '#/components/responses/' + ERR[st][0]}
                continue
            bodies = [x for x in samples.get((method, path, st), [])]
            desc = old.get(str(st), {}).get('description') or 'OK'
            r = {'description': desc}
            ctypes = collections.defaultdict(list)
            for b in bodies:
                ct = (b['content_type'] or '').split(';')[0].strip()
                if ct: ctypes[ct].append(b['body'])
            content = {}
            for ct, bs in ctypes.items():
                if ct == 'application/json' and (method, path, st) in shape_of and shape_of[(method, path, st)] in schemas:
                    content[ct] = {'schema': {'$ref': '#/components/schemas/' + shape_of[(method, path, st)]}}
                elif ct == 'application/json' and (method, path, st, 'data') in MIXED:
                    sch = infer([json.loads(x) for x in bs], top=True)
                    sch['properties']['data'] = {'type': 'array', 'items': {'anyOf': [{'$ref': '#/components/schemas/' + n} for n in ('Message', 'InboundMessage') if n in schemas]}}
                    content[ct] = {'schema': sch}
                elif ct == 'application/json' and (method, path, st, 'data') in shape_of:
                    sch = infer([json.loads(x) for x in bs], top=True)
                    sch['properties']['data'] = {'type': 'array', 'items': {'$ref': '#/components/schemas/' + shape_of[(method, path, st, 'data')]}}
                    content[ct] = {'schema': sch}
                elif ct == 'application/json' and path != '/v1/openapi.json':
                    content[ct] = {'schema': infer([json.loads(x) for x in bs], top=True)}
                elif ct == 'application/json':
                    content[ct] = {'schema': {'type': 'object'}}
                else:
                    content[ct] = {'schema': {'type': 'string', 'format': 'binary' if ct == 'application/octet-stream' else None}}
                    if content[ct]['schema']['format'] is None: del content[ct]['schema']['format']
            if path == '/v1/media/{id}' and st == 200:
                content = {'*/*': {}}  # the file's own type; its bytes are not validated
            if not content and 'content' in old.get(str(st), {}):
                content = old[str(st)]['content']
            if content: r['content'] = content
            resp[str(st)] = r
        if not any(s < 400 for s in statuses):
            resp.update({k: v for k, v in old.items() if k not in resp})
        op['responses'] = resp
json.dump(doc, open(DOC, 'w'), indent=2, ensure_ascii=False)
open(DOC, 'a').write('\n')
