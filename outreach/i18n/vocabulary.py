"""The words people use, per language, read from the catalogs a translator edits.

Each meaning (yes, no, maybe, more; the commands stop, start, help, human, language; and the
helpers: polite filler, "not", "but", the numbers) is one catalog entry whose context names it
(``msgctxt "words: yes"``), whose id is the English list and whose translation is the
language's own list, each word or short phrase separated by ``|``. A coordinator's ``match``
words for an option are extracted the same way, with the option as the context
(``words: big-conversation-invite/invite/yes``), so translators add the words people really
send ("ie | ydw | dof" for Welsh yes). Only confirmed entries are used (not fuzzy, not empty),
as for every other text.

>>> vocabulary = Vocabulary()
>>> "yeah" in vocabulary.english("yes"), vocabulary.words("cy", "yes")  # no catalogs
(True, ())
>>> split_words("ie | ydw | dof i")
('ie', 'ydw', 'dof i')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Literal

from outreach.i18n.catalogs import NC_, Catalogs
from outreach.i18n.locales import fallback_chain

Meaning = Literal[
    "yes",
    "no",
    "maybe",
    "more",
    "stop",
    "start",
    "help",
    "human",
    "language",
    "filler",
    "not",
    "but",
    "passing",
    "self-harm",
    "abuse",
    "crisis",
    "agree",
    "disagree",
    "pass",
    "new",
]
ANSWERS: tuple[Meaning, ...] = ("yes", "no", "maybe", "more")
COMMANDS: tuple[Meaning, ...] = ("stop", "start", "help", "human", "language")
# Words that raise a safeguarding alert wherever they appear in a message.
CONCERNS: tuple[Meaning, ...] = ("self-harm", "abuse", "crisis")

# The English lists are the message ids; every language's catalog gives its own list.
ENGLISH: Mapping[str, str] = {
    # TRANSLATORS: Words and short phrases people text to mean YES (to come, to agree),
    # separated by |. Add the ones people really send, informal ones and spellings without
    # accents too; emoji work in every language already.
    "yes": NC_(
        "words: yes",
        "yes | y | ye | yeah | yea | yeh | yep | yup | ya | yah | aye | ok | okay | k | kk | "
        "sure | of course | definitely | certainly | absolutely | alright | all right | "
        "i will | i'll come | i will come | i'll be there | i will be there | "
        "see you there | i'd like to | i would like to | i'd love to | i would love to | "
        "love to | would love to | count me in | i'm in | i am in | sign me up | put me down | "
        "book me in | i'm coming | i am coming | coming | i can come | i can make it | "
        "i can do that | can do | will do | sounds good | sounds great | great | go on then | "
        "why not | yes please | please do | no problem | no worries | deffo | yes i will | "
        "i'd be happy to | happy to | attending | i'll attend | i will attend | yh | can't wait | "
        "won't miss it | i won't miss it | will not miss it | "
        "i can't wait | wouldn't miss it | i wouldn't miss it | looking forward to it | "
        "👍 | ✅ | ✔ | ☑ | 👌 | 🆗 | 🙋",
    ),
    # TRANSLATORS: Words and short phrases people text to mean NO (they will not come, they
    # do not want it), separated by |. Include the usual ways of saying "I can't come".
    "no": NC_(
        "words: no",
        "no | n | nope | nah | na | nay | no thanks | no thank you | not this time | not now | "
        "can't | cannot | can not | i can't | can't come | can't make it | i can't come | "
        "i cannot come | i can't make it | cannot make it | won't | i won't | i will not | "
        "i won't be there | i won't make it | won't make it | not coming | i'm not coming | "
        "i am not coming | unable | unable to come | not able to come | i'll pass | pass | "
        "not for me | not interested | no way | no chance | sadly not | unfortunately not | "
        "afraid not | "
        "i'm afraid not | no sorry | sorry no | not this time thanks | i'm busy | busy | "
        "i'm away | i am away | not available | i'm not available | not anymore | "
        "won't be coming | i won't be coming | will not be coming | not be coming | "
        "not any more | no longer | don't want to come | i don't want to come | count me out | "
        "i'd rather not | rather not | i would rather not | "
        "not able to attend | unable to attend | can't attend | cannot attend | "
        "👎 | ❌ | ✖ | ❎ | 🚫 | 🙅",
    ),
    # TRANSLATORS: Words and short phrases that mean MAYBE or "I don't know yet", separated
    # by |.
    "maybe": NC_(
        "words: maybe",
        "maybe | perhaps | possibly | might | i might | might come | i might come | "
        "not sure | i'm not sure | i am not sure | unsure | not sure yet | don't know | "
        "i don't know | dont know | dunno | idk | depends | it depends | probably | "
        "hopefully | i hope so | hope so | i'll try | i will try | will try | "
        "i'll see | we'll see | let me check | let me see | i'll let you know | "
        "not yet | no idea | no clue | not a clue | can't say | can't say yet | can't tell | "
        "i can't say | i can't tell | i can't promise | i cannot say | "
        "can't promise | can't be sure | cannot say | if i can | if i'm free | if i am free | "
        "if possible | 🤔 | 🤷",
    ),
    # TRANSLATORS: Words and short phrases people text to ask for MORE information,
    # separated by |.
    "more": NC_(
        "words: more",
        "more | tell me more | more info | more information | info | information | details | "
        "more details | what is it | what's it about | what is it about | what's this | "
        "what is this | what's that | what's | explain | tell me | ❓",
    ),
    # TRANSLATORS: Words and phrases that ask us to STOP sending messages, separated by |.
    # They work whole or with polite words around them ("stop please", "please stop it"),
    # so give the request itself: "stop", "no more messages", "remove me from your list".
    "stop": NC_(
        "words: stop",
        "stop | stopall | stop all | unsubscribe | unsub | cancel | end | quit | optout | "
        "opt out | revoke | stop it | stop now | stop texting | stop texting me | "
        "stop messaging | stop messaging me | stop sending | stop sending me | "
        "stop contacting me | no more texts | no more messages | no more sms | "
        "remove me | remove my number | take me off | delete me | delete my number | "
        "don't text me | do not text me | don't message me | don't contact me | "
        "do not contact me | don't send me | leave me alone | unsubscribe me | "
        "don't want these messages | don't want any messages | don't want messages | "
        "don't want texts | don't want these texts | don't want to receive | i said stop | 🛑",
    ),
    # TRANSLATORS: Phrases where a word for stop is used in passing, not to ask us to stop
    # ("bus stop"), separated by |. A message with one of these is not even flagged.
    "passing": NC_(
        "words: passing",
        "bus stop | full stop | non stop | nonstop | pit stop | next stop | last stop | "
        "stop by | stop off | stop over | the end | end of",
    ),
    # TRANSLATORS: Words and short phrases people text to AGREE with a statement, separated
    # by |. (They also reply 1.)
    "agree": NC_(
        "words: agree",
        "agree | i agree | agreed | i do agree | yes | y | yeah | yep | true | that's true | "
        "right | that's right | so true | definitely | absolutely | totally | "
        "strongly agree | 👍 | ✅",
    ),
    # TRANSLATORS: Words and short phrases people text to DISAGREE with a statement,
    # separated by |. (They also reply 2.)
    "disagree": NC_(
        "words: disagree",
        "disagree | i disagree | don't agree | do not agree | i don't agree | no | n | nope | "
        "not true | that's not true | untrue | false | wrong | that's wrong | "
        "strongly disagree | 👎 | ❌",
    ),
    # TRANSLATORS: Words and short phrases people text to PASS on a statement (no view, not
    # sure, skip it), separated by |. (They also reply 3.)
    "pass": NC_(
        "words: pass",
        "pass | skip | next | unsure | not sure | don't know | dont know | dunno | idk | "
        "no opinion | no view | neither | neutral | either way | 🤷",
    ),
    # TRANSLATORS: Words people put before a statement of THEIR OWN for others to vote on
    # ("NEW The bus should run later"), separated by |. One or two words each.
    "new": NC_("words: new", "new | add | mine | my own | suggest | idea"),
    # TRANSLATORS: Words that ask to START getting messages again after stopping, separated
    # by |.
    "start": NC_("words: start", "start | unstop | resume | subscribe | opt in | optin"),
    # TRANSLATORS: Words that ask for HELP (who is texting, how to stop), separated by |.
    "help": NC_("words: help", "help | help me | helpline"),
    # TRANSLATORS: Words and phrases asking to talk to a real PERSON, separated by |.
    "human": NC_(
        "words: human",
        "human | person | a person | real person | a real person | someone | agent | "
        "operator | staff | speak to someone | talk to someone | speak to a person | "
        "talk to a person | speak to a human | talk to a human | speak to a real person | "
        "call me | call me back | ring me | phone me | can someone call me | "
        "can i speak to someone | can i talk to someone | talk to a real person | "
        "speak with someone | talk with someone | speak to somebody | talk to somebody | "
        "speak to a member of staff | a human please | someone call me | someone ring me | "
        "can someone ring me | can someone phone me",
    ),
    # TRANSLATORS: SAFEGUARDING. Words and phrases that mean someone may harm themselves,
    # separated by |. Any message containing one alerts a safeguarding lead at once and the
    # person is sent crisis phone numbers, so include the everyday ways people say it.
    "self-harm": NC_(
        "words: self-harm",
        "suicide | suicidal | kill myself | killing myself | end my life | end it all | "
        "take my own life | want to die | i want to die | wish i was dead | better off dead | "
        "don't want to live | do not want to live | no reason to live | hurt myself | "
        "hurting myself | harm myself | self harm | self-harm | cut myself | cutting myself | "
        "overdose",
    ),
    # TRANSLATORS: SAFEGUARDING. Words and phrases that mean someone is being abused or is
    # not safe at home, separated by |. See the note on self-harm.
    "abuse": NC_(
        "words: abuse",
        "abuse | abused | abusing me | domestic violence | he hits me | she hits me | "
        "hits me | beats me | beating me | he hurts me | she hurts me | not safe at home | "
        "scared to go home | afraid to go home | afraid of him | afraid of her | "
        "scared of him | scared of her | raped | rape | sexually assaulted | forced me",
    ),
    # TRANSLATORS: SAFEGUARDING. Words and phrases that mean someone is in crisis and needs
    # help now, separated by |. See the note on self-harm.
    "crisis": NC_(
        "words: crisis",
        "can't cope | cannot cope | can't go on | cannot go on | in danger | i'm in danger | "
        "need help now | help me now | mental health crisis | having a breakdown | "
        "breaking down | can't take it anymore | can't take any more",
    ),
    # TRANSLATORS: Words that ask to change the LANGUAGE of messages, separated by |.
    "language": NC_("words: language", "lang | language | languages | change language"),
    # TRANSLATORS: Words that can come around a command or an answer without changing it:
    # greetings, please, thank you, sorry, honorifics, "and", "me", "now", "messages", a
    # plain "no" or "ok", separated by |. Never put a word for stop here, nor "not".
    "filler": NC_(
        "words: filler",
        "please | pls | plz | thanks | thank you | thankyou | thx | ty | cheers | hi | hello | "
        "hey | dear | sorry | now | right now | immediately | asap | me | my | us | it | i | "
        "i'd like to | i would like to | i want to | i need to | i need | can you | could you | "
        "would you | can | could | would | will you | just | all | any | more | these | those | "
        "this | the | your | you | from | off | of | to | a | and | so | also | ok | okay | no | "
        "nope | nah | texts | text | messages | message | sms | number | list | mailing list | "
        "again | anymore | any more | for me | x | xx | xxx | 🙏 | 😊 | 🙂 | ❤",
    ),
    # TRANSLATORS: Words that turn what follows into its opposite ("not", "don't", "can't"),
    # separated by |.
    "not": NC_(
        "words: not",
        "not | don't | dont | do not | can't | cant | cannot | can not | won't | wont | "
        "will not | never | isn't | aren't | didn't | doesn't | wouldn't | couldn't | "
        "no longer",
    ),
    # TRANSLATORS: Words that turn a sentence round ("but", "however"), separated by |.
    "but": NC_("words: but", "but | however | although | though | except"),
}
# TRANSLATORS: The numbers from zero to ten, in this order, separated by |; give other forms
# of one number with / (Welsh "dau/dwy").
NUMBERS = NC_(
    "words: numbers", "zero | one | two | three | four | five | six | seven | eight | nine | ten"
)

_SEPARATORS = re.compile(r"[|\n]")


def split_words(text: str) -> tuple[str, ...]:
    """The words of a vocabulary entry: separated by ``|`` (or lines; a comma is part of a
    phrase, "no, thanks")."""
    return tuple(w for w in (part.strip() for part in _SEPARATORS.split(text)) if w)


def join_words(words: Iterable[str]) -> str:
    """The message id of a list of words, as extracted into the catalogs.

    >>> join_words(["yes", "y", "i'll come"])
    "yes | y | i'll come"
    """
    return " | ".join(words)


def option_context(flow: str, step: str, option: str) -> str:
    """The context of an option's words in the catalogs."""
    return f"words: {flow}/{step}/{option}"


class Vocabulary:
    """The words of every meaning in each language, from one ``locales`` folder's catalogs
    (English alone without catalogs)."""

    def __init__(self, catalogs: Catalogs | None = None) -> None:
        self.catalogs = catalogs

    def languages(self) -> list[str]:
        """Languages with a catalog (English always)."""
        found = self.catalogs.languages() if self.catalogs is not None else []
        return sorted({"en", *found})

    def english(self, meaning: str) -> tuple[str, ...]:
        return _english(meaning)

    def words(self, language: str, meaning: str) -> tuple[str, ...]:
        """The language's own words for ``meaning`` (not English's), nearest variant first."""
        return self._own(language, f"words: {meaning}", ENGLISH[meaning])

    def option_words(self, language: str, context: str, english: Iterable[str]) -> tuple[str, ...]:
        """A translator's words for one option (English words are the flow's own)."""
        return self._own(language, context, join_words(english))

    def numbers(self, language: str) -> dict[str, int]:
        """Number words from zero to ten: the language's, then English's.

        >>> Vocabulary().numbers("en")["seven"]
        7
        """
        found: dict[str, int] = {}
        lists = [self._own(language, "words: numbers", NUMBERS, split=False), (NUMBERS,)]
        for entries in lists:
            for entry in entries:
                for value, forms in enumerate(entry.split("|")):
                    for form in forms.split("/"):
                        if form.strip():
                            found.setdefault(form.strip(), value)
        return found

    def _own(
        self, language: str, context: str, message: str, *, split: bool = True
    ) -> tuple[str, ...]:
        if self.catalogs is None:
            return ()
        return _own_words(self.catalogs, language, context, message, split)


@lru_cache(maxsize=64)
def _english(meaning: str) -> tuple[str, ...]:
    return split_words(ENGLISH[meaning])


@lru_cache(maxsize=4096)
def _own_words(
    catalogs: Catalogs, language: str, context: str, message: str, split: bool
) -> tuple[str, ...]:
    """Every language of the chain adds its words (``pt_BR``'s, then ``pt``'s)."""
    words: dict[str, None] = {}
    for tag in fallback_chain(language):
        if tag == "en":
            break
        found = catalogs.lookup(tag, message, context=context)
        if found:
            words.update(dict.fromkeys(split_words(found) if split else (found,)))
    return tuple(words)
