"""The text pools of the synthetic sample (scripts/make-sample-data): emoji, hashtags,
names, teams, drivers, airports, the rules' texts and the long posts' paragraphs. Data, not
logic: generate.py draws from them.

The pools are deliberately multilingual (fullwidth Japanese punctuation, Arabic, Turkish,
Devanagari): that is the point of this data, not a confusable-character accident.
"""

# ruff: noqa: RUF001


def cps(*points: int) -> str:
    """A string from code points: emoji sequences stay readable (and reviewable) here."""
    return "".join(chr(p) for p in points)


ZWJ, VS16 = 0x200D, 0xFE0F
RLM = "\u200f"
EMOJI = [
    cps(0x1F525),  # fire
    cps(0x1F62D),  # loudly crying
    cps(0x1F602),  # tears of joy
    cps(0x1F92F),  # exploding head
    cps(0x1F64C, 0x1F3FD),  # raising hands, medium skin tone
    cps(0x1F44F, 0x1F3FE),  # clapping, medium-dark skin tone
    cps(0x1F4AA, 0x1F3FB),  # flexed biceps, light skin tone
    cps(0x1F64F, 0x1F3FF),  # folded hands, dark skin tone
    cps(0x1F3C0),  # basketball
    cps(0x1F3CE, VS16),  # racing car
    cps(0x26BD),  # soccer ball
    cps(0x2708, VS16),  # airplane
    cps(0x1F624),  # face with steam
    cps(0x1FAE0),  # melting face
    cps(0x1F926, 0x1F3FB, ZWJ, 0x2642, VS16),  # man facepalming, light skin tone
    cps(0x1F469, 0x1F3FD, ZWJ, 0x1F4BB),  # woman technologist, medium skin tone
    cps(0x1F9D1, 0x1F3FF, ZWJ, 0x2708, VS16),  # pilot, dark skin tone
    cps(0x1F468, ZWJ, 0x1F469, ZWJ, 0x1F467, ZWJ, 0x1F466),  # family
    cps(0x1F3F3, VS16, ZWJ, 0x1F308),  # rainbow flag
    cps(0x2764, VS16, ZWJ, 0x1F525),  # heart on fire
    cps(0x31, VS16, 0x20E3),  # keycap 1
    cps(0x1FAF6, 0x1F3FC),  # heart hands, medium-light skin tone
    cps(0x1F3C1),  # chequered flag
    cps(0x23F1, VS16),  # stopwatch
    cps(0x1F6EB),  # departure
    cps(0x1F9F3),  # luggage
    cps(0x231B),  # hourglass
    cps(0x1F480),  # skull
    cps(0x1F440),  # eyes
]
FLAGS = [
    cps(0x1F1E7, 0x1F1F7),  # BR
    cps(0x1F1E6, 0x1F1F7),  # AR
    cps(0x1F1EF, 0x1F1F5),  # JP
    cps(0x1F1F8, 0x1F1E6),  # SA
    cps(0x1F1EE, 0x1F1F3),  # IN
    cps(0x1F1EA, 0x1F1F8),  # ES
    cps(0x1F1FA, 0x1F1F8),  # US
    cps(0x1F1E6, 0x1F1EA),  # AE
    cps(0x1F1F2, 0x1F1FD),  # MX
    cps(0x1F1F5, 0x1F1F9),  # PT
    cps(0x1F3F4, 0xE0067, 0xE0062, 0xE0065, 0xE006E, 0xE0067, 0xE007F),  # England (tags)
]
SHRUG = "¯\\_(ツ)_/¯"

LANGS = ["en", "es", "pt", "ja", "ar", "hi", "fr"]
LANG_WEIGHTS = [40, 15, 12, 12, 9, 8, 4]
THEMES = ["nba", "f1", "football", "flights"]
THEME_WEIGHTS = [30, 25, 25, 20]
KINDS = ["original", "reply", "retweet", "quote", "note", "special"]
KIND_WEIGHTS = [560, 150, 170, 80, 20, 20]
KIND_LABELS = {
    "original": "original",
    "reply": "reply",
    "retweet": "retweet",
    "quote": "quote",
    "note": "long post (note_tweet)",
    "special": "emoji/hashtag/media only",
}
# Rule ids are snowflakes from when the rules were added, a few days before the sample.
RULES = {
    "nba": "1794284512345677824",
    "f1": "1794284512345677825",
    "football": "1794284512345677826",
    "flights": "1794284609864798208",
}
# A slot in a template ties the text to a rule even when the template's theme is another:
# a flight-delay post that names a Grand Prix matches the f1 rule as well.
SLOT_THEME = {
    "team": "nba",
    "player": "nba",
    "driver": "f1",
    "cteam": "f1",
    "gp": "f1",
    "club": "football",
    "footballer": "football",
    "airline": "flights",
    "flight": "flights",
}

# --- text pools ----------------------------------------------------------------------

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "nba": {
        "en": [
            "{team} up {n} at the half and {player} already has {pts} {e} {h}",
            "{player} tonight: {pts} pts, {reb} reb, {ast} ast.\n"
            'That\'s a "quiet" night apparently {e}\n{h} {h2}',
            "Final: {team} {score} {team2}\n\nRefs decided this one " + SHRUG + " {h}",
            "who let {player} shoot a step-back 3 with 2 on the shot clock?? "
            "it went in. of course it went in {e}{e}",
            "{m} you said {team} wouldn't even make the play-in lol {e}",
            "Box score: {u} {h}",
            "{player} &amp; {player2} pick-and-roll is unguardable rn {e} {h}",
            'Commentator just said "{player} is HIM" and honestly... yes {e} {h}',
            "Q4 2:14 left, {team} {score} {team2}. I can't watch. I'm watching. {e}",
            "{team} bench: &lt;3 {e}",
        ],
        "es": [
            "{team} gana {score} a {team2} y {player} se va con {pts} puntos {e} {h}",
            "¿Alguien más vio ese triple de {player}? ¡Qué locura! {e} {h}",
            "{m} te dije que {team} llegaba a playoffs {e}",
            "Medio tiempo: {team} {score} {team2}\n\n«Defensa», dicen… {e} {h}",
        ],
        "pt": [
            "{player} com {pts} pontos e {team} vence {team2} por {score} {e} {h}",
            "Que jogo! {team} x {team2} foi pra prorrogação {e} {h}",
            "{m} viu o toco do {player}?? {e}{e}",
        ],
        "ja": [
            "{team}が{score}で勝利！{player}は{pts}得点{e} {h}",
            "{player}のステップバック3ポイント、えぐすぎる{e}{e} {h}",
            "ハーフタイム：{team} {score} {team2}\n後半も頑張れ！ {h}",
        ],
        "ar": [
            "{team} يفوز على {team2} بنتيجة {score} و{player} يسجل {pts} نقطة {e} {h}",
            "مباراة مجنونة الليلة! " + RLM + "{score} {e} {h}",
            "{m} شفت رمية {player} الأخيرة؟ {e}",
        ],
        "hi": [
            "{team} ने {team2} को {score} से हराया, {player} के {pts} अंक {e} {h}",
            "क्या मैच था! {player} का आख़िरी शॉट देखा? {e} {h}",
        ],
        "fr": [
            "Quel match ! {team} {score} {team2}, {player} à {pts} points {e} {h}",
        ],
    },
    "f1": {
        "en": [
            "{driver} P{pos} → P{pos2} on lap {lap} {e} {h}",
            "{cteam} strategy call again. Hards on lap {lap}?? {e}\n"
            '"We are checking" — sure you are {h}',
            "Quali gap: {driver} {gap} to pole. {gp} is going to be spicy {e} {h} {h2}",
            'Team radio: "Box, box. Box, box."\n{driver}: "no." {e}',
            "Live timing: {u} {h}",
            "{m} are you watching the {gp}?? {driver} just sent it into T1 {e}",
            "Pit stop 2.{d}s for {cteam}. My heart rate said otherwise {e} {h}",
            '{driver} to the stewards: \\"I left a car\'s width\\". He did not. {e}',
        ],
        "es": [
            "¡Vamos {driver}! P{pos} en la vuelta {lap} {flag} {e} {h}",
            'Estrategia de {cteam}: "estamos revisando" {e} {h}',
            "El {gp} está que arde {e} {h} {h2}",
        ],
        "pt": [
            "Bora {driver}!! P{pos} na volta {lap} {flag} {e} {h}",
            "GP de Sa\u0303o Paulo saudades… hoje é {gp} {e} {h}",
            "{m} a {cteam} errou a estratégia de novo {e}",
        ],
        "ja": [
            "{driver}、{lap}周目でP{pos}まで浮上！{e} {h}",
            "{gp}の予選、{driver}はポールまで{gap}…惜しい {h}",
            "チーム無線「ボックス、ボックス」{e} {h}",
        ],
        "ar": [
            "هيا {driver}! المركز {pos} في اللفة {lap} {flag} {e} {h}",
            "{gp} الليلة، من سيفوز؟ {e} {h} {h2}",
        ],
        "hi": [
            "{driver} लैप {lap} पर P{pos} पर! {e} {h}",
            "{gp} आज रात, कौन जीतेगा? {h}",
        ],
        "fr": [
            "Allez {driver} ! P{pos} au tour {lap} {e} {h}",
        ],
    },
    "football": {
        "en": [
            "GOAL! {club} {goals} {club2} ({min}') {e}{e} {h}",
            "VAR checking... still checking... {e} {h}",
            "{footballer} from 30 yards. {flag} {e} {h}",
            "Half-time: {club} {goals} {club2}\n\n"
            "xG says we're unlucky. My eyes say we're bad. {h}",
            "{m} told you {club} would bottle it {e}",
        ],
        "es": [
            "¡GOLAZO de {footballer}! {club} {goals} {club2} ({min}') {e}{e} {h}",
            "Árbitro, ¿qué cobraste? {e} {h}",
            "Año {n} sin campeonar y acá seguimos, ¡aguante {club}! {flag} {e}",
        ],
        "pt": [
            "GOOOOOL do {club}! {footballer} aos {min}' {e}{e} {h}",
            "{m} o {club} tá jogando um futebol horrível hoje, não é possível {e}",
            "Fim de jogo: {club} {goals} {club2}\nÉ isso aí " + cps(0x2764, VS16, 0x1F5A4) + " {h}",
        ],
        "ja": [
            "ゴール！！{club} {goals} {club2}（{min}分）{e} {h}",
            "{m} 今日の{club}やばくない？{e}",
        ],
        "ar": [
            "هدددف! {club} {goals} {club2} في الدقيقة {min} {e} {h}",
            "هدف جَمِيلٌ جِدًّا من {footballer} {e} {h}",
            "{m} شفت الهدف؟ رهيب {e}",
        ],
        "hi": [
            "गोल! {club} {goals} {club2} ({min}') {e} {h}",
            "{m} भाई, आज {club} का खेल देखा? {e}",
        ],
        "fr": [
            "BUT ! {club} {goals} {club2} ({min}') {e} {h}",
        ],
    },
    "flights": {
        "en": [
            "{airline} {flight} {ap}→{ap2} delayed {hrs}h and counting. Gate {gate}. {e} {h}",
            'Update from gate {gate}: "we\'re waiting on a crew member" — '
            "it's been {mins} min {e}\n{h} {h2}",
            "{m} flight {flight} cancelled, rebooked on tomorrow's {time}. "
            "No hotel voucher. Please DM. {h}",
            "Boarding pass saved as C:\\Users\\me\\Downloads\\boarding_pass (3).pdf "
            "and I'm still at {ap} {e}",
            "Missed tip-off because {airline} sat on the tarmac at {ap} for {mins} minutes "
            "{e} {h} {h2}",
            'Status page: {u} says "on time". Screen at gate {gate} says DELAYED. '
            "Schrödinger's flight {e}",
            'the app literally pushed "Delayed\\nNew time: {time}" with a raw \\n lol {e}',
            "Flying to the {gp} and {flight} is delayed {hrs}h. Of course. {e} {h}",
        ],
        "es": [
            "Vuelo {flight} de {airline} retrasado {hrs} horas en {ap} {e} {h}",
            "{m} ¿me pueden dar información del vuelo {flight}? Cancelado y nadie responde {e}",
            "Puerta {gate}, embarque a las {time}… ahora dicen {mins} minutos más {e} {h}",
        ],
        "pt": [
            "Voo {flight} da {airline} atrasado {hrs}h em {ap} {e} {h}",
            "Conexão em {ap} perdida, remarcaram pra amanhã às {time}. "
            "Obrigado por nada, {airline} {e} {h}",
        ],
        "ja": [
            "{airline}の{flight}便、{ap}で{hrs}時間遅延…{e} {h}",
            "欠航のお知らせ来た。{ap}→{ap2}、明日の{time}に振替 {e} {h}",
            "搭乗口{gate}、まだ動きなし。{e}",
        ],
        "ar": [
            "رحلة {airline} رقم {flight} متأخرة {hrs} ساعات في مطار {ap} {e} {h}",
            "{m} تم إلغاء رحلتي {flight}، أرجو المساعدة {e}",
        ],
        "hi": [
            "{airline} की फ्लाइट {flight} {ap} पर {hrs} घंटे लेट है {e} {h}",
            "{m} मेरी फ्लाइट {flight} रद्द हो गई, कोई जवाब नहीं दे रहा {e} {h}",
            "गेट {gate} पर {mins} मिनट से इंतज़ार… {e}",
        ],
        "fr": [
            "Vol {flight} retardé de {hrs}h à {ap}… merci {airline} {e} {h}",
        ],
    },
}

# Long posts (note_tweet): a live blog of paragraphs, header first, hashtags last.
NOTE_HEADERS = {
    "en": "LIVE THREAD — everything from tonight, updated as it happens {e}",
    "es": "HILO EN VIVO — todo lo de esta noche {e}",
    "pt": "AO VIVO — tudo o que rolou hoje {e}",
    "ja": "【実況まとめ】今夜の出来事をまとめます{e}",
    "ar": "تغطية مباشرة — كل ما حدث الليلة {e}",
    "hi": "लाइव अपडेट — आज रात की पूरी कहानी {e}",
    "fr": "EN DIRECT — tout ce qui s'est passé ce soir {e}",
}
NOTE_PARAGRAPHS = {
    "en": [
        "{time} — {team} open on a 9-0 run and {player} looks locked in. The building is "
        "loud, the bench is louder, and I have already spilled my drink {e}",
        'Lap {lap}: {driver} is told "stay out" and answers "copy" in the flattest voice '
        "imaginable. {cteam} on the pit wall look like they are solving a crossword.",
        "{min}' — {club} finally string five passes together and the away end wakes up. "
        "Still {goals}. Still nervous.",
        "Meanwhile my {airline} flight {flight} out of {ap} has moved from gate {gate} to "
        "gate {gate2} and back again. Delay now {hrs}h {mm}m. I am watching all of this on "
        "a cracked phone next to a vending machine that only takes exact change {e}",
        'Somebody in the row behind me keeps shouting "SEND IT" at every overtake, every '
        "fast break, every corner kick. I respect the commitment.",
        "Quick stats check: {player} {pts} pts, {driver} P{pos}, {footballer} with a goal "
        "and an assist. The \\ on my keyboard is broken so forgive the typos.",
    ],
    "es": [
        "{time} — {team} arranca con todo y {player} no falla una. El estadio es una locura {e}",
        'Vuelta {lap}: a {driver} le dicen "quédate fuera" y responde "recibido". '
        "En {cteam} nadie entiende nada.",
        "{min}' — {club} por fin junta cinco pases seguidos. Sigue {goals}. Sigo nervioso.",
        "Mientras tanto mi vuelo {flight} de {airline} en {ap} cambió de la puerta {gate} a "
        "la {gate2} y volvió. Retraso de {hrs}h {mm}m {e}",
    ],
    "pt": [
        "{time} — {team} começa com tudo e {player} não erra uma. O ginásio tá pegando fogo {e}",
        'Volta {lap}: mandaram o {driver} "ficar na pista" e ele respondeu "entendido". '
        "Ninguém na {cteam} sabe o que está fazendo.",
        "{min}' — {club} finalmente troca cinco passes. Ainda {goals}. Ainda nervoso.",
        "Enquanto isso meu voo {flight} da {airline} em {ap} mudou do portão {gate} pro "
        "{gate2} e voltou. Atraso de {hrs}h {mm}min {e}",
    ],
    "ja": [
        "{time} {team}が9-0のランで開始、{player}が絶好調。会場の盛り上がりがすごい{e}",
        "{lap}周目：{driver}に「ステイアウト」の指示。{cteam}のピットウォールは大混乱。",
        "{min}分 {club}がやっとパスをつなぐ。まだ{goals}。緊張が続く。",
        "その間、{ap}で{airline}の{flight}便は搭乗口{gate}から{gate2}に変更、"
        "また戻った。遅延{hrs}時間{mm}分{e}",
    ],
    "ar": [
        "{time} — {team} يبدأ بقوة و{player} لا يخطئ. الأجواء رائعة {e}",
        "اللفة {lap}: طُلب من {driver} البقاء على الحلبة، وفريق {cteam} في حيرة.",
        "الدقيقة {min} — {club} يمرر أخيرًا خمس تمريرات متتالية. النتيجة {goals}.",
        "في هذه الأثناء رحلتي {flight} على {airline} في مطار {ap} تغيرت من البوابة {gate} "
        "إلى {gate2} ثم عادت. التأخير {hrs} ساعات {e}",
    ],
    "hi": [
        "{time} — {team} ने शानदार शुरुआत की और {player} एक भी शॉट नहीं चूक रहे {e}",
        "लैप {lap}: {driver} को ट्रैक पर रहने को कहा गया, {cteam} की रणनीति समझ से बाहर है।",
        "{min}' — {club} ने आख़िरकार पाँच पास जोड़े। स्कोर अब भी {goals}।",
        "इस बीच {ap} पर मेरी {airline} फ्लाइट {flight} का गेट {gate} से {gate2} हो गया और "
        "फिर वापस। देरी {hrs} घंटे {mm} मिनट {e}",
    ],
    "fr": [
        "{time} — {team} démarre fort et {player} ne rate rien {e}",
        "Tour {lap} : on demande à {driver} de rester en piste, chez {cteam} c'est le chaos.",
        "{min}' — {club} enchaîne enfin cinq passes. Toujours {goals}.",
    ],
}

HASHTAGS = {
    "nba": {
        "en": ["NBA", "NBATwitter", "LakeShow", "DubNation", "NBACup"],
        "es": ["NBAenEspañol", "NBA", "baloncesto"],
        "pt": ["NBABrasil", "NBA", "basquete"],
        "ja": ["NBA", "バスケ", "NBAJP"],
        "ar": ["NBA", "كرة_السلة"],
        "hi": ["NBA", "बास्केटबॉल"],
        "fr": ["NBA", "basket"],
    },
    "f1": {
        "en": ["F1", "AbuDhabiGP", "Formula1", "F1Twitter"],
        "es": ["F1", "F1enEspañol", "AbuDhabiGP"],
        "pt": ["F1", "F1naBand", "FórmulaUm"],
        "ja": ["F1", "F1jp", "アブダビGP"],
        "ar": ["F1", "فورمولا1"],
        "hi": ["F1", "फॉर्मूला1"],
        "fr": ["F1", "GPAbouDhabi"],
    },
    "football": {
        "en": ["football", "PremierLeague", "COYG"],
        "es": ["LaLiga", "fútbol", "Superclásico"],
        "pt": ["Brasileirão", "Futebol"],
        "ja": ["サッカー", "Jリーグ"],
        "ar": ["الهلال", "دوري_روشن"],
        "hi": ["फुटबॉल", "ISL"],
        "fr": ["Ligue1", "football"],
    },
    "flights": {
        "en": ["FlightDelay", "travel", "avgeek"],
        "es": ["retraso", "vuelos"],
        "pt": ["voo", "atraso"],
        "ja": ["遅延", "欠航"],
        "ar": ["تأخير_الرحلات", "سفر"],
        "hi": ["उड़ान", "यात्रा"],
        "fr": ["retard", "voyage"],
    },
}

# Slot values: {lang: [...]} with "en" the fallback.
NBA_TEAMS = {
    "en": [
        "Lakers",
        "Celtics",
        "Warriors",
        "Knicks",
        "Nuggets",
        "Heat",
        "Bucks",
        "Suns",
        "Thunder",
        "Mavericks",
    ],
    "ja": ["レイカーズ", "セルティックス", "ウォリアーズ", "ニックス", "ナゲッツ"],
    "ar": ["ليكرز", "سلتيكس", "ووريرز", "نيكس"],
    "hi": ["लेकर्स", "सेल्टिक्स", "वॉरियर्स"],
}
# Fictional players, drivers and footballers; some names carry combining marks on purpose
# (decomposed é, ã, and the stacked marks of Vietnamese ễ).
PLAYERS = {
    "en": [
        "Marcus Vell",
        "Dario Kinsley",
        "Theo Amadi",
        "Kenji Morikawa",
        "Nikola Đurović",
        "Jose\u0301 Ibarra",
        "Ömer Yıldız",
        "Andre Okonkwo-Baptiste",
    ],
    "ja": ["モリカワ", "ヴェル", "アマディ"],
    "ar": ["ماركوس فيل", "ثيو أمادي"],
    "hi": ["मार्कस वेल", "थियो अमादी"],
}
DRIVERS = {
    "en": [
        "Luca Bellandi",
        "Oliver Crane",
        "Mateo Ríos",
        "Yuki Hanazawa",
        "Pierre Lamarque",
        "Kai Nordström",
        "Minh Nguye\u0302\u0303n",
        "Arjun Mehta",
    ],
    "ja": ["花沢ユウキ", "ベランディ", "クレイン"],
    "ar": ["لوكا بيلاندي", "أوليفر كرين"],
    "hi": ["अर्जुन मेहता", "लूका बेलांडी"],
}
CONSTRUCTORS = {
    "en": [
        "Ferrari",
        "McLaren",
        "Mercedes",
        "Williams",
        "Aston Martin",
        "Alpine",
        "Audi",
        "Cadillac",
    ]
}
GRANDS_PRIX = {
    "en": ["Abu Dhabi GP", "Las Vegas GP", "Qatar GP"],
    "es": ["GP de Abu Dabi", "GP de Las Vegas"],
    "pt": ["GP de Abu Dhabi", "GP de Las Vegas"],
    "ja": ["アブダビGP", "ラスベガスGP"],
    "ar": ["جائزة أبوظبي الكبرى", "جائزة قطر الكبرى"],
    "hi": ["अबू धाबी ग्रां प्री"],
    "fr": ["GP d'Abou Dhabi"],
}
CLUBS = {
    "en": [
        "Flamengo",
        "Palmeiras",
        "Boca Juniors",
        "River Plate",
        "Real Madrid",
        "Barça",
        "Al Hilal",
        "Arsenal",
        "Kashima Antlers",
        "Mohun Bagan",
        "São Paulo",
    ],
    "ja": ["鹿島アントラーズ", "浦和レッズ", "川崎フロンターレ"],
    "ar": ["الهلال", "النصر", "الأهلي"],
    "hi": ["मोहन बागान", "ईस्ट बंगाल"],
}
FOOTBALLERS = {
    "en": [
        "Rodrigo Saldanha",
        "Iker Aramendi",
        "Tomás Villalba",
        "Yusuf Al-Amiri",
        "Kaito Shimizu",
        "Bruno Sa\u0303o Marcos",
        "Rohan Das",
    ],
    "ja": ["清水カイト", "アラメンディ"],
    "ar": ["يوسف العامري", "رودريغو"],
    "hi": ["रोहन दास", "रोड्रिगो"],
}
# Fictional airlines: (code, {lang: name}).
AIRLINES = [
    ("AU", {"en": "Aurora Skyways", "ja": "オーロラ航空", "ar": "طيران أورورا"}),
    ("CZ", {"en": "Condor Azul", "ar": "كوندور أزول"}),
    ("SW", {"en": "Sakura Wings", "ja": "さくらウイングス"}),
    ("FG", {"en": "Falcon Gulf Airways", "ar": "طيران الصقر الخليجي"}),
    ("MN", {"en": "Monsoon Air", "hi": "मानसून एयर"}),
    ("AT", {"en": "Atlântica Linhas Aéreas"}),
    ("NL", {"en": "Northlight Air"}),
]
AIRPORTS = [
    "JFK",
    "LAX",
    "GRU",
    "GIG",
    "EZE",
    "MEX",
    "MAD",
    "LHR",
    "NRT",
    "HND",
    "DXB",
    "AUH",
    "DEL",
    "BOM",
    "DOH",
    "CDG",
    "MIA",
    "ORD",
]

# Users: fictional display names (some with emoji, flags, RTL, combining marks) by language.
DISPLAY_NAMES = {
    "en": [
        "Jordan P.",
        "Sam | Lakers in 5",
        "Chris " + cps(0x1F3C0),
        "Priya (she/her)",
        "Zoe\u0308 Whitfield",
        "Mike " + EMOJI[16],
        'Ty "Buckets" Moore',
        "avgeek dan",
        "Lena Ko " + EMOJI[15],
    ],
    "es": [
        "María José " + FLAGS[1],
        "Sofía R.",
        "Andrés " + cps(0x26BD),
        "Javi " + EMOJI[11],
        "Lucía Peña",
        "Nacho | Boca " + cps(0x1F499, 0x1F49B),
    ],
    "pt": [
        "Ana Beatriz " + FLAGS[0],
        "João Pedro",
        "Sa\u0303o Paulino de coração",
        "Camila " + cps(0x26BD, 0x1F1E7, 0x1F1F7),
        "Thiago F1",
    ],
    "ja": [
        "さくら" + cps(0x1F3C0),
        "たけし@遠征中",
        "山田 太郎",
        "F1好きのゆう",
        "みゆき" + EMOJI[11],
    ],
    "ar": [
        "نورة | Noura",
        "محمد " + FLAGS[3],
        "عبدالله",
        "سارة " + cps(0x1F3CE, VS16),
        "أحمد" + RLM,
    ],
    "hi": ["राहुल शर्मा", "प्रिया " + FLAGS[4], "अर्जुन", "Rahul " + EMOJI[11], "नेहा सिंह"],
    "fr": ["Camille D.", "Hélène " + cps(0x1F3C1), "Théo"],
}
HANDLE_PARTS = [
    "hoops",
    "courtside",
    "pitwall",
    "boxbox",
    "gate",
    "delayed",
    "fan",
    "lap",
    "layover",
    "nightowl",
    "sixthman",
    "torcedor",
    "vamos",
    "golazo",
    "apex",
    "tarmac",
    "buzzer",
    "redeye",
    "paddock",
    "hincha",
    "sakura",
    "falcon",
    "desi",
    "raio",
    "sol",
    "lua",
]
# Code points for a "fancy font" display name (Mathematical Bold Script, all astral).
MATH_SCRIPT_CAPITAL_A = 0x1D4D0
MATH_SCRIPT_SMALL_A = 0x1D4EA


def fancy(text: str) -> str:
    out = []
    for ch in text:
        if "A" <= ch <= "Z":
            out.append(chr(MATH_SCRIPT_CAPITAL_A + ord(ch) - ord("A")))
        elif "a" <= ch <= "z":
            out.append(chr(MATH_SCRIPT_SMALL_A + ord(ch) - ord("a")))
        else:
            out.append(ch)
    return "".join(out)
